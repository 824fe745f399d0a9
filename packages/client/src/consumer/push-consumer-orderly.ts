import type { MessageExt } from '../message.js';
import { type MessageQueue, messageQueueKey } from '../route.js';
import { ConsumeExecutor, Mutex, type ProcessQueue, REBALANCE_LOCK_INTERVAL_MS } from './push-consumer-process-queue.js';
import type {
  ConsumeMessageService, ConsumeOrderlyContext, ConsumeOrderlyStatus, ConsumeServiceHost, MessageListenerOrderly,
} from './push-consumer-types.js';

/*
 * RocketMQ's ConsumeMessageOrderlyService. Clustering consumers hold a broker lock on every queue they consume
 * (LOCK_BATCH_MQ, renewed every 20 s; the broker's lease lasts 60 s) and consume a queue only while they hold it.
 * One consume request per queue at a time takes consumeMessageBatchMaxSize messages in queue order and calls the
 * listener; the next batch is taken only after it answered:
 *   SUCCESS                         the batch is committed (the offset moves past it);
 *   SUSPEND_CURRENT_QUEUE_A_MOMENT  (or a throw) the batch is put back and the queue waits suspendCurrentQueueTimeMillis
 *                                   before the same messages are tried again (reconsumeTimes + 1 each time), the queue
 *                                   held meanwhile. A message that reached maxReconsumeTimes is sent to %RETRY%<group>
 *                                   with its reconsumeTimes, which the broker turns into %DLQ%<group>, and the queue
 *                                   moves on (ConsumeMessageOrderlyService.checkReconsumeTimes).
 */

/** A consume request yields after this long so other queues get their turn (MAX_TIME_CONSUME_CONTINUOUSLY). */
export const MAX_TIME_CONSUME_CONTINUOUSLY_MS = 60_000;

export class ConsumeMessageOrderlyService implements ConsumeMessageService {
  private readonly executor: ConsumeExecutor;
  /** One mutex per queue: never two consume requests of a queue at once (MessageQueueLock). */
  private readonly queueLocks = new Map<string, Mutex>();
  private lockTimer: NodeJS.Timeout | null = null;
  private stopped = false;

  constructor(private readonly host: ConsumeServiceHost, private readonly listener: MessageListenerOrderly) {
    this.executor = new ConsumeExecutor(host.consumeThreadMax, (error) => {
      host.logger.error(`consumer ${host.consumerGroup}: orderly consume task failed: ${(error as Error).message}`);
    });
  }

  get activeCount(): number {
    return this.executor.activeCount;
  }

  get queuedCount(): number {
    return this.executor.queuedCount;
  }

  start(): void {
    if (this.host.messageModel !== 'CLUSTERING') return;
    const tick = (): void => {
      this.lockTimer = null;
      if (this.stopped) return;
      void this.host.rebalance.lockAll().finally(() => {
        if (this.stopped) return;
        this.lockTimer = setTimeout(tick, REBALANCE_LOCK_INTERVAL_MS);
        this.lockTimer.unref();
      });
    };
    this.lockTimer = setTimeout(tick, 1_000);
    this.lockTimer.unref();
  }

  async shutdown(awaitTerminationMs: number): Promise<void> {
    this.stopped = true;
    if (this.lockTimer !== null) clearTimeout(this.lockTimer);
    await this.executor.shutdown(awaitTerminationMs);
  }

  submitConsumeRequest(_messages: readonly MessageExt[], pq: ProcessQueue, mq: MessageQueue, dispatchToConsume: boolean): void {
    if (dispatchToConsume && !this.stopped) this.executor.submit(() => this.consumeRequest(pq, mq));
  }

  private submitConsumeRequestLater(pq: ProcessQueue, mq: MessageQueue, suspendTimeMillis: number): void {
    let delay = suspendTimeMillis === -1 ? this.host.suspendCurrentQueueTimeMillis : suspendTimeMillis;
    delay = Math.min(30_000, Math.max(10, delay));
    this.host.scheduleLater(delay, () => this.submitConsumeRequest([], pq, mq, true));
  }

  /** Locks the queue again later, then resumes it (quickly if the lock was granted, after 3 s if not). */
  private tryLockLaterAndReconsume(mq: MessageQueue, pq: ProcessQueue, delayMs: number): void {
    this.host.scheduleLater(delayMs, async () => {
      const locked = !this.stopped && await this.host.rebalance.lock(mq);
      this.submitConsumeRequestLater(pq, mq, locked ? 10 : 3_000);
    });
  }

  private queueLock(mq: MessageQueue): Mutex {
    const key = messageQueueKey(mq);
    let lock = this.queueLocks.get(key);
    if (lock === undefined) this.queueLocks.set(key, (lock = new Mutex()));
    return lock;
  }

  /** ConsumeRequest.run for one queue. */
  private async consumeRequest(pq: ProcessQueue, mq: MessageQueue): Promise<void> {
    if (pq.dropped) {
      this.host.logger.warn(`consumer ${this.host.consumerGroup}: ${messageQueueKey(mq)} dropped; orderly consumption stops`);
      return;
    }
    const clustering = this.host.messageModel === 'CLUSTERING';
    const release = await this.queueLock(mq).lock();
    try {
      if (!clustering || (pq.locked && !pq.isLockExpired())) {
        const begin = Date.now();
        for (let continueConsume = true; continueConsume;) {
          if (pq.dropped || this.stopped) break;
          if (clustering && (!pq.locked || pq.isLockExpired())) {
            this.tryLockLaterAndReconsume(mq, pq, 10);
            break;
          }
          if (Date.now() - begin > MAX_TIME_CONSUME_CONTINUOUSLY_MS) {
            this.submitConsumeRequestLater(pq, mq, 10);
            break;
          }
          const taken = pq.takeMessages(this.host.consumeMessageBatchMaxSize);
          if (taken.length === 0) {
            continueConsume = false;
            break;
          }
          const messages = this.host.resetRetryTopic(taken);
          const context: ConsumeOrderlyContext = { messageQueue: mq, autoCommit: true, suspendCurrentQueueTimeMillis: -1 };
          let status: ConsumeOrderlyStatus | null = null;
          const started = performance.now();
          const releaseConsume = await pq.consumeLock.lock();
          try {
            if (pq.dropped) {
              this.host.logger.warn(`consumer ${this.host.consumerGroup}: ${messageQueueKey(mq)} dropped before consuming; stop`);
              pq.rollback();
              break;
            }
            const answer = await this.listener(Object.freeze([...messages]), context);
            if (answer === 'SUCCESS' || answer === 'SUSPEND_CURRENT_QUEUE_A_MOMENT') {
              status = answer;
            } else {
              this.host.logger.warn(`consumer ${this.host.consumerGroup}: the orderly listener answered ${String(answer)}; `
                + 'taken as SUSPEND_CURRENT_QUEUE_A_MOMENT', { queue: messageQueueKey(mq) });
            }
          } catch (error) {
            this.host.logger.warn(`consumer ${this.host.consumerGroup}: the orderly listener threw: ${(error as Error)?.message ?? String(error)}; `
              + 'taken as SUSPEND_CURRENT_QUEUE_A_MOMENT', { queue: messageQueueKey(mq), msgIds: messages.map((m) => m.msgId).join(',') });
          } finally {
            releaseConsume();
          }
          status ??= 'SUSPEND_CURRENT_QUEUE_A_MOMENT';
          continueConsume = await this.processConsumeResult(messages, status, context, pq, mq, performance.now() - started);
        }
      } else {
        if (pq.dropped) return;
        this.tryLockLaterAndReconsume(mq, pq, 100);
      }
    } finally {
      release();
    }
  }

  private async processConsumeResult(messages: readonly MessageExt[], status: ConsumeOrderlyStatus, context: ConsumeOrderlyContext,
    pq: ProcessQueue, mq: MessageQueue, elapsedMs: number): Promise<boolean> {
    let continueConsume = true;
    let commitOffset = -1;
    if (status === 'SUCCESS') {
      this.host.recordConsumed(mq.topic, messages.length, 0, elapsedMs);
      commitOffset = pq.commit();
    } else {
      this.host.recordConsumed(mq.topic, 0, messages.length, elapsedMs);
      const { suspend, updated } = await this.checkReconsumeTimes(messages);
      if (suspend) {
        pq.makeMessageToConsumeAgain(updated);
        this.submitConsumeRequestLater(pq, mq, context.suspendCurrentQueueTimeMillis);
        continueConsume = false;
      } else {
        commitOffset = pq.commit();
      }
    }
    if (commitOffset >= 0 && !pq.dropped) this.host.offsetStore.updateOffset(mq, commitOffset, false);
    return continueConsume;
  }

  /**
   * True when the batch must be tried again: some message is under maxReconsumeTimes (its reconsumeTimes goes up by
   * one), or one past it could not be sent back. Messages past the max are sent to %RETRY%<group> with their
   * reconsumeTimes, which the broker moves to the DLQ.
   */
  private async checkReconsumeTimes(messages: readonly MessageExt[]): Promise<{ suspend: boolean; updated: MessageExt[] }> {
    let suspend = false;
    const updated: MessageExt[] = [];
    for (const message of messages) {
      if (message.reconsumeTimes >= this.host.maxReconsumeTimes) {
        try {
          await this.host.sendMessageBackAsNewMessage(message);
          this.host.logger.warn(`consumer ${this.host.consumerGroup}: ${message.msgId} failed ${message.reconsumeTimes + 1} times; `
            + 'sent to the dead letter queue');
          updated.push(message);
        } catch (error) {
          this.host.logger.error(`consumer ${this.host.consumerGroup}: sending ${message.msgId} to the dead letter queue failed: `
            + `${(error as Error).message}; it is consumed again`);
          suspend = true;
          updated.push(Object.freeze({ ...message, reconsumeTimes: message.reconsumeTimes + 1 }));
        }
      } else {
        suspend = true;
        updated.push(Object.freeze({ ...message, reconsumeTimes: message.reconsumeTimes + 1 }));
      }
    }
    return { suspend, updated };
  }
}
