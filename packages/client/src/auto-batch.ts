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

interface Pending {
  messages: Message[];
  resolvers: Array<{ resolve(result: SendResult): void; reject(error: Error): void }>;
  bodyBytes: number;
  timer: NodeJS.Timeout | null;
  scheduled: boolean;
}

/**
 * Coalesces concurrent sends of one topic into SEND_BATCH_MESSAGE requests. Each caller still gets its own
 * SendResult (its UNIQ_KEY, offset message id and queue offset) once the batch is acknowledged, or the batch's error.
 * A batch lands in one queue: messages sent together stay in send order.
 */
export class AutoBatcher {
  private readonly pending = new Map<string, Pending>();

  constructor(
    private readonly settings: AutoBatchSettings,
    private readonly sendBatch: (messages: Message[]) => Promise<SendResult>,
  ) {}

  send(message: Message): Promise<SendResult> {
    let batch = this.pending.get(message.topic);
    if (batch && batch.bodyBytes + message.body.length > this.settings.batchMaxBytes) {
      this.flush(message.topic);
      batch = undefined;
    }
    if (!batch) {
      batch = { messages: [], resolvers: [], bodyBytes: 0, timer: null, scheduled: false };
      this.pending.set(message.topic, batch);
    }
    const promise = new Promise<SendResult>((resolve, reject) => batch.resolvers.push({ resolve, reject }));
    batch.messages.push(message);
    batch.bodyBytes += message.body.length;
    if (batch.messages.length >= this.settings.batchMaxMessages) {
      this.flush(message.topic);
    } else if (!batch.scheduled) {
      batch.scheduled = true;
      const topic = message.topic;
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
    if (batch.messages.length === 1) {
      // A batch of one is a plain send: no batch framing on the wire.
      this.sendBatch(batch.messages).then((result) => batch.resolvers[0]!.resolve(result), (error: Error) => batch.resolvers[0]!.reject(error));
      return;
    }
    this.sendBatch(batch.messages).then(
      (result) => {
        const msgIds = result.msgId.split(',');
        const offsetMsgIds = result.offsetMsgId.split(',');
        batch.resolvers.forEach((resolver, i) => resolver.resolve({
          ...result, msgId: msgIds[i] ?? '', offsetMsgId: offsetMsgIds[i] ?? '', queueOffset: result.queueOffset + i,
        }));
      },
      (error: Error) => {
        for (const resolver of batch.resolvers) resolver.reject(error);
      },
    );
  }

  /** Sends whatever waits (shutdown). */
  flushAll(): void {
    for (const topic of [...this.pending.keys()]) this.flush(topic);
  }
}
