import type { Logger } from '@tern/common';
import { RETRY_GROUP_TOPIC_PREFIX } from '../message.js';
import { type MessageQueue, messageQueueKey } from '../route.js';
import type { AllocateMessageQueueStrategy } from './allocate.js';
import { OFFSET_NOT_FOUND, type OffsetStore } from './offset-store.js';
import type { ProcessQueue } from './push-consumer-process-queue.js';
import { type ConsumeType, type MessageModel, type PullRequest, type RebalanceClient, RebalanceImpl } from './rebalance-impl.js';

/*
 * RocketMQ's RebalancePushImpl: the push consumer's side of a rebalance — where a new queue starts
 * (computePullFromWhere), what happens to a queue taken away (offset persisted; orderly: unlocked once its
 * current batch is done), and new pull requests handed to the pull loop.
 */

export type ConsumeFromWhere = 'CONSUME_FROM_LAST_OFFSET' | 'CONSUME_FROM_FIRST_OFFSET' | 'CONSUME_FROM_TIMESTAMP';

/** How long removeUnnecessaryMessageQueue waits for an orderly batch in progress (Java: 1 s). */
export const REMOVE_WAIT_CONSUME_MS = 1_000;

/** What RebalancePushImpl needs of its push consumer. */
export interface RebalancePushHost {
  readonly offsetStore: OffsetStore;
  readonly consumeOrderly: boolean;
  readonly consumeFromWhere: ConsumeFromWhere;
  /** CONSUME_FROM_TIMESTAMP's time, ms since the epoch. */
  readonly consumeTimestampMs: number;
  /** Orderly: delay of the unlock of a dropped queue that still has cached messages (Java: 20 s). */
  readonly unlockDelayTimeMillis: number;
  /** GET_MAX_OFFSET of a queue at its master. */
  maxOffset(mq: MessageQueue): Promise<number>;
  /** SEARCH_OFFSET_BY_TIMESTAMP at the queue's master. */
  searchOffset(mq: MessageQueue, timestampMs: number): Promise<number>;
  executePullRequestImmediately(request: PullRequest): void;
  /** A topic's allocation changed (Java sends a heartbeat). */
  messageQueueChanged(topic: string, mqAll: readonly MessageQueue[], mqDivided: readonly MessageQueue[]): void;
}

export class RebalancePushImpl extends RebalanceImpl {
  /** Delayed unlocks of dropped orderly queues (queue key → timer and the unlock). */
  private readonly pendingUnlocks = new Map<string, { timer: NodeJS.Timeout; run: () => Promise<void> }>();

  constructor(
    consumerGroup: string,
    messageModel: MessageModel,
    allocateStrategy: AllocateMessageQueueStrategy,
    client: RebalanceClient,
    logger: Logger,
    private readonly host: RebalancePushHost,
  ) {
    super(consumerGroup, messageModel, allocateStrategy, client, logger);
  }

  consumeType(): ConsumeType {
    return 'CONSUME_PASSIVELY';
  }

  messageQueueChanged(topic: string, mqAll: readonly MessageQueue[], mqDivided: readonly MessageQueue[]): void {
    this.host.messageQueueChanged(topic, mqAll, mqDivided);
  }

  removeDirtyOffset(mq: MessageQueue): void {
    this.host.offsetStore.removeOffset(mq);
  }

  async removeUnnecessaryMessageQueue(mq: MessageQueue, pq: ProcessQueue): Promise<boolean> {
    const store = this.host.offsetStore;
    await store.persist(mq);
    store.removeOffset(mq);
    if (!this.host.consumeOrderly || this.messageModel !== 'CLUSTERING') return true;
    const release = await pq.consumeLock.tryLock(REMOVE_WAIT_CONSUME_MS);
    if (release === null) {
      pq.tryUnlockTimes++;
      this.logger.warn(`consumer ${this.consumerGroup}: ${messageQueueKey(mq)} is being consumed; it is unlocked on a later round`
        + ` (try ${pq.tryUnlockTimes})`);
      return false;
    }
    try {
      this.unlockDelay(mq, pq);
      return true;
    } finally {
      release();
    }
  }

  /** Unlocks at once, or after unlockDelayTimeMillis when messages are still cached (Java's unlockDelay). */
  private unlockDelay(mq: MessageQueue, pq: ProcessQueue): void {
    if (pq.hasTempMessage()) {
      this.logger.info(`consumer ${this.consumerGroup}: ${messageQueueKey(mq)} has cached messages; unlock in ${this.host.unlockDelayTimeMillis} ms`);
      const key = messageQueueKey(mq);
      const run = async (): Promise<void> => {
        const pending = this.pendingUnlocks.get(key);
        if (pending?.run !== run) return;
        clearTimeout(pending.timer);
        this.pendingUnlocks.delete(key);
        // Taken again meanwhile: keep the lock.
        if (this.processQueueTable.has(key)) return;
        await this.unlock(mq, true);
      };
      const timer = setTimeout(() => void run(), this.host.unlockDelayTimeMillis);
      timer.unref();
      clearTimeout(this.pendingUnlocks.get(key)?.timer);
      this.pendingUnlocks.set(key, { timer, run });
    } else {
      void this.unlock(mq, true);
    }
  }

  /**
   * RebalancePushImpl.computePullFromWhere: the committed offset when there is one; otherwise
   * LAST_OFFSET → 0 for a retry topic, else the queue's max offset; FIRST_OFFSET → 0; TIMESTAMP → the max offset for
   * a retry topic, else the offset of consumeTimestamp. -1 when the store could not be read (skip this round).
   */
  async computePullFromWhere(mq: MessageQueue): Promise<number> {
    const lastOffset = await this.host.offsetStore.readOffset(mq, 'store');
    const retry = mq.topic.startsWith(RETRY_GROUP_TOPIC_PREFIX);
    switch (this.host.consumeFromWhere) {
      case 'CONSUME_FROM_LAST_OFFSET':
        if (lastOffset >= 0) return lastOffset;
        if (lastOffset === OFFSET_NOT_FOUND) return retry ? 0 : this.host.maxOffset(mq);
        return -1;
      case 'CONSUME_FROM_FIRST_OFFSET':
        if (lastOffset >= 0) return lastOffset;
        if (lastOffset === OFFSET_NOT_FOUND) return 0;
        return -1;
      case 'CONSUME_FROM_TIMESTAMP':
        if (lastOffset >= 0) return lastOffset;
        if (lastOffset === OFFSET_NOT_FOUND) {
          return retry ? this.host.maxOffset(mq) : this.host.searchOffset(mq, this.host.consumeTimestampMs);
        }
        return -1;
    }
  }

  /** Runs the delayed unlocks now (shutdown). */
  async flushPendingUnlocks(): Promise<void> {
    await Promise.all([...this.pendingUnlocks.values()].map(({ run }) => run()));
  }

  dispatchPullRequest(requests: PullRequest[]): void {
    for (const request of requests) {
      this.host.executePullRequestImmediately(request);
      this.logger.info(`consumer ${this.consumerGroup}: pull of ${messageQueueKey(request.mq)} starts at ${request.nextOffset}`);
    }
  }
}
