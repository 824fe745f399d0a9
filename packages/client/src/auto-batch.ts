import type { Message } from './message.js';
import type { SendResult } from './send-message.js';

/** When and how sends are coalesced (RocketMQ 5's autoBatch, batchMaxDelayMs, batchMaxBytes). */
export interface AutoBatchSettings {
  /** Messages per batch at most. */
  batchMaxMessages: number;
  /** Body bytes per batch at most (a batch is flushed before it would pass this). */
  batchMaxBytes: number;
  /** How long a batch may wait for more messages; 0 = only messages sent in the same event-loop turn. */
  batchMaxDelayMs: number;
}

/** What sending one batch gives back: the (batch's) SendResult, and every message's UNIQ_KEY in order. */
export interface AutoBatchSent {
  result: SendResult;
  msgIds: readonly string[];
}

interface Pending {
  readonly messages: Message[];
  readonly resolves: Array<(result: SendResult) => void>;
  readonly rejects: Array<(error: Error) => void>;
  readonly waitStoreMsgOK: boolean;
  bodyBytes: number;
  timer: NodeJS.Timeout | null;
  scheduled: boolean;
}

/** The batch `send` is adding a caller to: read by `joinPending`, the one executor every send's promise shares. */
let joining: Pending | null = null;

function joinPending(resolve: (result: SendResult) => void, reject: (error: Error) => void): void {
  joining!.resolves.push(resolve);
  joining!.rejects.push(reject);
}

/** One message's SendResult out of its batch's: its UNIQ_KEY, offset message id and queue offset. */
function memberResult(batch: SendResult, msgId: string, offsetMsgId: string, queueOffset: number): SendResult {
  const result: SendResult = { sendStatus: batch.sendStatus, msgId, offsetMsgId, messageQueue: batch.messageQueue, queueOffset };
  if (batch.transactionId !== undefined) result.transactionId = batch.transactionId;
  if (batch.regionId !== undefined) result.regionId = batch.regionId;
  if (batch.traceOn !== undefined) result.traceOn = batch.traceOn;
  return result;
}

/**
 * Coalesces concurrent sends of one topic into SEND_BATCH_MESSAGE requests. Each caller still gets its own
 * SendResult (its UNIQ_KEY, offset message id and queue offset) once the batch is acknowledged, or the batch's error.
 * A batch lands in one queue: messages sent together stay in send order. Messages of one batch share their
 * waitStoreMsgOK (RocketMQ requires it): a send with the other value flushes the batch waiting and starts a new one.
 */
export class AutoBatcher {
  private readonly pending = new Map<string, Pending>();

  constructor(
    private readonly settings: AutoBatchSettings,
    /** Sends one batch (of one message: a plain send). */
    private readonly sendBatch: (messages: Message[]) => Promise<AutoBatchSent>,
  ) {}

  send(message: Message): Promise<SendResult> {
    const topic = message.topic;
    let batch = this.pending.get(topic);
    if (batch !== undefined
      && (batch.bodyBytes + message.body.length > this.settings.batchMaxBytes || batch.waitStoreMsgOK !== message.waitStoreMsgOK)) {
      this.flush(topic);
      batch = undefined;
    }
    if (batch === undefined) {
      batch = { messages: [], resolves: [], rejects: [], waitStoreMsgOK: message.waitStoreMsgOK, bodyBytes: 0, timer: null, scheduled: false };
      this.pending.set(topic, batch);
    }
    joining = batch;
    const promise = new Promise<SendResult>(joinPending);
    joining = null;
    batch.messages.push(message);
    batch.bodyBytes += message.body.length;
    if (batch.messages.length >= this.settings.batchMaxMessages) {
      this.flush(topic);
    } else if (!batch.scheduled) {
      batch.scheduled = true;
      if (this.settings.batchMaxDelayMs > 0) batch.timer = setTimeout(() => this.flush(topic), this.settings.batchMaxDelayMs);
      else setImmediate(() => this.flush(topic));
    }
    return promise;
  }

  private flush(topic: string): void {
    const batch = this.pending.get(topic);
    if (!batch) return;
    this.pending.delete(topic);
    if (batch.timer) clearTimeout(batch.timer);
    const { resolves, rejects } = batch;
    this.sendBatch(batch.messages).then(
      ({ result, msgIds }) => {
        // A batch of one is a plain send: its result is the caller's as it is.
        if (resolves.length === 1) {
          resolves[0]!(result);
          return;
        }
        const offsetMsgIds = result.offsetMsgId.split(',');
        for (let i = 0; i < resolves.length; i++) resolves[i]!(memberResult(result, msgIds[i] ?? '', offsetMsgIds[i] ?? '', result.queueOffset + i));
      },
      (error: Error) => {
        for (const reject of rejects) reject(error);
      },
    );
  }

  /** Sends whatever waits (shutdown). */
  flushAll(): void {
    for (const topic of [...this.pending.keys()]) this.flush(topic);
  }
}
