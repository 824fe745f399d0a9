import type { Logger } from '@tern/common';
import type { MessageExt } from '../message.js';
import type { MessageQueue } from '../route.js';
import type { OffsetStore } from './offset-store.js';
import type { ProcessQueue } from './push-consumer-process-queue.js';
import type { MessageModel } from './rebalance-impl.js';
import type { RebalancePushImpl } from './rebalance-push.js';

/**
 * A concurrent listener's verdict (Java's enum ConsumeConcurrentlyStatus). In an async listener return the constant
 * (`ConsumeConcurrentlyStatus.CONSUME_SUCCESS`) or `'CONSUME_SUCCESS' as const`: TypeScript widens a bare string
 * literal returned from an async function to `string`.
 */
export const ConsumeConcurrentlyStatus = { CONSUME_SUCCESS: 'CONSUME_SUCCESS', RECONSUME_LATER: 'RECONSUME_LATER' } as const;
export type ConsumeConcurrentlyStatus = (typeof ConsumeConcurrentlyStatus)[keyof typeof ConsumeConcurrentlyStatus];

/** ConsumeConcurrentlyContext. */
export interface ConsumeConcurrentlyContext {
  readonly messageQueue: MessageQueue;
  /**
   * The delay level a failed message goes back with: 0 (default) lets the broker pick 3 + reconsumeTimes; > 0 that
   * level; < 0 straight to the DLQ.
   */
  delayLevelWhenNextConsume: number;
  /** With CONSUME_SUCCESS: messages after this index (of a batch) count as failed. @defaultValue 2^31 - 1 */
  ackIndex: number;
}

/** A concurrent listener: the messages of one batch (consumeMessageBatchMaxSize); a throw counts as RECONSUME_LATER. */
export type MessageListenerConcurrently = (messages: readonly MessageExt[], context: ConsumeConcurrentlyContext)
  => ConsumeConcurrentlyStatus | Promise<ConsumeConcurrentlyStatus>;

/** An orderly listener's verdict (Java's enum ConsumeOrderlyStatus; see ConsumeConcurrentlyStatus about async listeners). */
export const ConsumeOrderlyStatus = { SUCCESS: 'SUCCESS', SUSPEND_CURRENT_QUEUE_A_MOMENT: 'SUSPEND_CURRENT_QUEUE_A_MOMENT' } as const;
export type ConsumeOrderlyStatus = (typeof ConsumeOrderlyStatus)[keyof typeof ConsumeOrderlyStatus];

/** ConsumeOrderlyContext. */
export interface ConsumeOrderlyContext {
  readonly messageQueue: MessageQueue;
  /** Commit the offset after SUCCESS (the only mode Tern supports). */
  readonly autoCommit: boolean;
  /** How long SUSPEND_CURRENT_QUEUE_A_MOMENT holds the queue; -1 = the consumer's suspendCurrentQueueTimeMillis. */
  suspendCurrentQueueTimeMillis: number;
}

/** An orderly listener: one queue's messages in queue order; a throw counts as SUSPEND_CURRENT_QUEUE_A_MOMENT. */
export type MessageListenerOrderly = (messages: readonly MessageExt[], context: ConsumeOrderlyContext)
  => ConsumeOrderlyStatus | Promise<ConsumeOrderlyStatus>;

export type MessageListener =
  | { kind: 'concurrently'; consumeMessage: MessageListenerConcurrently }
  | { kind: 'orderly'; consumeMessage: MessageListenerOrderly };

/** What the consume services need of their push consumer. */
export interface ConsumeServiceHost {
  readonly consumerGroup: string;
  readonly messageModel: MessageModel;
  readonly logger: Logger;
  readonly offsetStore: OffsetStore;
  readonly rebalance: RebalancePushImpl;
  readonly consumeMessageBatchMaxSize: number;
  readonly consumeThreadMax: number;
  readonly suspendCurrentQueueTimeMillis: number;
  readonly consumeTimeoutMs: number;
  /** maxReconsumeTimes with -1 resolved. */
  readonly maxReconsumeTimes: number;
  /** Messages of %RETRY%<group> get their RETRY_TOPIC back as topic. */
  resetRetryTopic(messages: readonly MessageExt[]): readonly MessageExt[];
  /** CONSUMER_SEND_MSG_BACK, falling back to a send to %RETRY%<group>; rejects when both fail. */
  sendMessageBack(message: MessageExt, delayLevel: number, brokerName: string | null): Promise<void>;
  /** The orderly service's send-back: a send to %RETRY%<group> keeping reconsumeTimes (DLQ once past the max). */
  sendMessageBackAsNewMessage(message: MessageExt): Promise<void>;
  /** Runs `task` after `delayMs` unless the consumer stopped. */
  scheduleLater(delayMs: number, task: () => Promise<void> | void): void;
  /** Counts consume outcomes (for running info). */
  recordConsumed(topic: string, ok: number, failed: number, elapsedMs: number): void;
}

/** What a consume service offers the push consumer. */
export interface ConsumeMessageService {
  start(): void;
  /** Stops dispatching; waits up to `awaitTerminationMs` for listener calls in progress. */
  shutdown(awaitTerminationMs: number): Promise<void>;
  submitConsumeRequest(messages: readonly MessageExt[], pq: ProcessQueue, mq: MessageQueue, dispatchToConsume: boolean): void;
  /** Handler calls in progress and waiting. */
  readonly activeCount: number;
  readonly queuedCount: number;
}
