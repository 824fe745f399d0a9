import type { MessageExt } from '../message.js';
import { type MessageQueue, messageQueueKey } from '../route.js';
import { ConsumeExecutor, type ProcessQueue } from './push-consumer-process-queue.js';
import type {
  ConsumeConcurrentlyContext, ConsumeConcurrentlyStatus, ConsumeMessageService, ConsumeServiceHost, MessageListenerConcurrently,
} from './push-consumer-types.js';

/*
 * RocketMQ's ConsumeMessageConcurrentlyService. Pulled messages are cut into batches of consumeMessageBatchMaxSize
 * and handed to the listener with at most consumeThreadMax calls at once. After a call:
 *   CONSUME_SUCCESS  the batch (up to ackIndex) leaves the process queue;
 *   RECONSUME_LATER  (or a throw) clustering: every message goes back to the broker with CONSUMER_SEND_MSG_BACK
 *                    (the broker re-delivers it through %RETRY%<group> after a delay, or moves it to %DLQ%<group> once
 *                    reconsumeTimes reached maxReconsumeTimes); a message that could not be sent back stays in the
 *                    process queue and is handed to the listener again after 5 s. Broadcasting: dropped (logged).
 * The queue's offset then moves to the smallest offset still in process, so a message is never committed before it
 * is consumed or safely sent back.
 */

/** ConsumeConcurrentlyContext.ackIndex's default (Integer.MAX_VALUE). */
export const ACK_INDEX_ALL = 0x7fffffff;
/** A batch that could not be sent back is consumed again after this (Java: 5 s). */
export const CONSUME_RETRY_LOCAL_DELAY_MS = 5_000;
/** consumeTimeout clean-up: at most this many expired messages per queue per pass (Java: 16). */
const CLEAN_EXPIRED_PER_QUEUE = 16;

export class ConsumeMessageConcurrentlyService implements ConsumeMessageService {
  private readonly executor: ConsumeExecutor;
  private cleanTimer: NodeJS.Timeout | null = null;
  private stopped = false;

  constructor(private readonly host: ConsumeServiceHost, private readonly listener: MessageListenerConcurrently) {
    this.executor = new ConsumeExecutor(host.consumeThreadMax, (error) => {
      host.logger.error(`consumer ${host.consumerGroup}: consume task failed: ${(error as Error).message}`);
    });
  }

  get activeCount(): number {
    return this.executor.activeCount;
  }

  get queuedCount(): number {
    return this.executor.queuedCount;
  }

  start(): void {
    const interval = this.host.consumeTimeoutMs;
    const tick = (): void => {
      this.cleanTimer = null;
      if (this.stopped) return;
      void this.cleanExpiredMsg().finally(() => {
        if (this.stopped) return;
        this.cleanTimer = setTimeout(tick, interval);
        this.cleanTimer.unref();
      });
    };
    this.cleanTimer = setTimeout(tick, interval);
    this.cleanTimer.unref();
  }

  async shutdown(awaitTerminationMs: number): Promise<void> {
    this.stopped = true;
    if (this.cleanTimer !== null) clearTimeout(this.cleanTimer);
    await this.executor.shutdown(awaitTerminationMs);
  }

  submitConsumeRequest(messages: readonly MessageExt[], pq: ProcessQueue, mq: MessageQueue, _dispatchToConsume: boolean): void {
    if (this.stopped) return;
    const size = this.host.consumeMessageBatchMaxSize;
    for (let i = 0; i < messages.length; i += size) {
      const batch = messages.slice(i, i + size);
      this.executor.submit(() => this.consume(batch, pq, mq));
    }
  }

  private submitConsumeRequestLater(messages: MessageExt[], pq: ProcessQueue, mq: MessageQueue): void {
    this.host.scheduleLater(CONSUME_RETRY_LOCAL_DELAY_MS, () => this.submitConsumeRequest(messages, pq, mq, true));
  }

  /** One ConsumeRequest: the listener over one batch, then processConsumeResult. */
  private async consume(batch: MessageExt[], pq: ProcessQueue, mq: MessageQueue): Promise<void> {
    if (pq.dropped || this.stopped) {
      this.host.logger.info(`consumer ${this.host.consumerGroup}: ${messageQueueKey(mq)} dropped; a batch of ${batch.length} is not consumed`);
      return;
    }
    // `batch` is this request's own array (submitConsumeRequest cut it), so the listener gets it frozen, not a copy.
    const messages = Object.freeze(this.host.resetRetryTopic(batch));
    const context: ConsumeConcurrentlyContext = { messageQueue: mq, delayLevelWhenNextConsume: 0, ackIndex: ACK_INDEX_ALL };
    // One clock read serves the consumeTimeout bookkeeping and the consume time (Java: currentTimeMillis too).
    const startedMs = Date.now();
    pq.markConsumeStart(messages, startedMs);
    let status: ConsumeConcurrentlyStatus | null = null;
    try {
      const answer = await this.listener(messages, context);
      if (answer === 'CONSUME_SUCCESS' || answer === 'RECONSUME_LATER') {
        status = answer;
      } else {
        this.host.logger.warn(`consumer ${this.host.consumerGroup}: the listener answered ${String(answer)}; taken as RECONSUME_LATER`,
          { msgIds: messages.map((m) => m.msgId).join(',') });
      }
    } catch (error) {
      this.host.logger.warn(`consumer ${this.host.consumerGroup}: the listener threw: ${(error as Error)?.message ?? String(error)}; `
        + 'taken as RECONSUME_LATER', { msgIds: messages.map((m) => m.msgId).join(','), queue: messageQueueKey(mq) });
    }
    status ??= 'RECONSUME_LATER';
    const elapsedMs = Date.now() - startedMs;
    if (pq.dropped) {
      this.host.logger.warn(`consumer ${this.host.consumerGroup}: ${messageQueueKey(mq)} was dropped while consuming; the result is not processed`,
        { msgIds: messages.map((m) => m.msgId).join(',') });
      return;
    }
    const sendingBack = this.processConsumeResult(status, context, messages, pq, mq, elapsedMs);
    if (sendingBack !== undefined) await sendingBack;
  }

  /** Synchronous when every message succeeded; a promise while failed ones are sent back. */
  private processConsumeResult(status: ConsumeConcurrentlyStatus, context: ConsumeConcurrentlyContext, messages: readonly MessageExt[],
    pq: ProcessQueue, mq: MessageQueue, elapsedMs: number): Promise<void> | undefined {
    if (messages.length === 0) return undefined;
    let ackIndex = context.ackIndex;
    if (status === 'CONSUME_SUCCESS') {
      if (!Number.isInteger(ackIndex) || ackIndex >= messages.length) ackIndex = messages.length - 1;
      if (ackIndex < -1) ackIndex = -1;
      this.host.recordConsumed(mq.topic, ackIndex + 1, messages.length - ackIndex - 1, elapsedMs);
    } else {
      ackIndex = -1;
      this.host.recordConsumed(mq.topic, 0, messages.length, elapsedMs);
    }
    if (ackIndex + 1 < messages.length) return this.sendBackFailed(ackIndex, context, messages, pq, mq);
    this.removeConsumed(messages, pq, mq);
    return undefined;
  }

  /** The messages after ackIndex failed: clustering sends them back to the broker; broadcasting drops them. */
  private async sendBackFailed(ackIndex: number, context: ConsumeConcurrentlyContext, messages: readonly MessageExt[], pq: ProcessQueue,
    mq: MessageQueue): Promise<void> {
    const failedBack: MessageExt[] = [];
    if (this.host.messageModel === 'BROADCASTING') {
      for (let i = ackIndex + 1; i < messages.length; i++) {
        this.host.logger.warn(`consumer ${this.host.consumerGroup}: BROADCASTING, the message consume failed, drop it: ${messages[i]!.msgId}`);
      }
    } else {
      for (let i = ackIndex + 1; i < messages.length; i++) {
        const message = messages[i]!;
        try {
          await this.host.sendMessageBack(message, context.delayLevelWhenNextConsume, mq.brokerName);
        } catch (error) {
          this.host.logger.warn(`consumer ${this.host.consumerGroup}: send-back of ${message.msgId} failed (consumed again locally in `
            + `${CONSUME_RETRY_LOCAL_DELAY_MS} ms): ${(error as Error).message}`);
          failedBack.push(Object.freeze({ ...message, reconsumeTimes: message.reconsumeTimes + 1 }));
        }
      }
    }
    let done = messages;
    if (failedBack.length > 0) {
      const failedOffsets = new Set(failedBack.map((m) => m.queueOffset));
      done = messages.filter((m) => !failedOffsets.has(m.queueOffset));
      this.submitConsumeRequestLater(failedBack, pq, mq);
    }
    this.removeConsumed(done, pq, mq);
  }

  /** The messages leave the process queue; the queue's offset moves to the smallest one still in process. */
  private removeConsumed(messages: readonly MessageExt[], pq: ProcessQueue, mq: MessageQueue): void {
    const offset = pq.removeMessage(messages);
    if (offset >= 0 && !pq.dropped) this.host.offsetStore.updateOffset(mq, offset, true);
  }

  /**
   * ProcessQueue.cleanExpiredMsg for every queue: a message whose consumption started more than consumeTimeoutMs
   * ago goes back to the broker (delay level 3) and leaves the process queue, so the queue's offset can move on.
   */
  private async cleanExpiredMsg(): Promise<void> {
    const timeoutMs = this.host.consumeTimeoutMs;
    for (const { mq, pq } of [...this.host.rebalance.processQueueTable.values()]) {
      for (let i = 0; i < CLEAN_EXPIRED_PER_QUEUE && !pq.dropped; i++) {
        const first = pq.firstCached();
        if (first === undefined || first.consumeStartMs === undefined || Date.now() - first.consumeStartMs <= timeoutMs) break;
        const [message] = this.host.resetRetryTopic([first.message]);
        try {
          await this.host.sendMessageBack(message!, 3, null);
          this.host.logger.warn(`consumer ${this.host.consumerGroup}: ${first.message.msgId} consumed for more than ${timeoutMs} ms; sent back`);
          const again = pq.firstCached();
          if (again !== undefined && again.message.queueOffset === first.message.queueOffset) {
            const offset = pq.removeMessage([first.message]);
            if (offset >= 0 && !pq.dropped) this.host.offsetStore.updateOffset(mq, offset, true);
          }
        } catch (error) {
          this.host.logger.error(`consumer ${this.host.consumerGroup}: sending back expired ${first.message.msgId} failed: ${(error as Error).message}`);
          break;
        }
      }
    }
  }
}
