import {
  LockBatchRequestBody, LockBatchResponseBody, type RemotingCommand, RequestCode, ResponseCode, type SubscriptionData,
  UnlockBatchRequestBody, requestCommand,
} from '@tern/protocol';
import type { Logger } from '@tern/common';
import { type ErrorContext, MQBrokerError, MQClientError } from '../errors.js';
import { RETRY_GROUP_TOPIC_PREFIX } from '../message.js';
import { MASTER_BROKER_ID, type MessageQueue, messageQueueKey } from '../route.js';
import { type AllocateMessageQueueStrategy, sortAllocationInput } from './allocate.js';
import { ProcessQueue } from './push-consumer-process-queue.js';

/*
 * RocketMQ's RebalanceImpl: which queues this member consumes, recomputed on every rebalance round.
 *
 *   clustering    the topic's queues (from its route) are shared among the group's members (GET_CONSUMER_LIST_BY_GROUP)
 *                 by the allocation strategy, both lists sorted first so every member computes the same split;
 *   broadcasting  every member takes every queue.
 *
 * A queue that is no longer ours is dropped (its process queue stops pulling and consuming; the subclass persists
 * its offset and, orderly, unlocks it); a new queue gets a process queue and a pull request starting at the offset
 * the subclass computes. Orderly consumers lock a queue at its broker (LOCK_BATCH_MQ) before taking it.
 */

export type MessageModel = 'CLUSTERING' | 'BROADCASTING';
export type ConsumeType = 'CONSUME_ACTIVELY' | 'CONSUME_PASSIVELY';

/** The lock request timeout (Java: 1000 ms). */
export const LOCK_REQUEST_TIMEOUT_MS = 1_000;

/** One queue's pull state (Java's PullRequest). */
export interface PullRequest {
  readonly consumerGroup: string;
  readonly mq: MessageQueue;
  readonly pq: ProcessQueue;
  nextOffset: number;
  /** Orderly: the start offset was re-read once the queue was found locked. */
  previouslyLocked: boolean;
}

/** What a rebalance needs of a ClientInstance. */
export interface RebalanceClient {
  readonly clientId: string;
  findBrokerAddressInSubscribe(brokerName: string, brokerId: number, onlyThisBroker: boolean): { address: string; slave: boolean } | undefined;
  findConsumerIdList(topic: string, group: string): Promise<string[]>;
  invokeBroker(brokerAddr: string, request: RemotingCommand, timeoutMs: number, context?: ErrorContext): Promise<RemotingCommand>;
  invokeBrokerOneway(brokerAddr: string, request: RemotingCommand, context?: ErrorContext): Promise<void>;
}

export interface QueueEntry {
  mq: MessageQueue;
  pq: ProcessQueue;
}

export abstract class RebalanceImpl {
  /** Queue key → the queue and its process queue: what this member consumes now. */
  readonly processQueueTable = new Map<string, QueueEntry>();
  /** Topic → its readable queues (from the route). */
  readonly topicSubscribeInfoTable = new Map<string, MessageQueue[]>();
  /** Topic → subscription (the consumer's, plus %RETRY%<group> for clustering). */
  readonly subscriptionInner = new Map<string, SubscriptionData>();

  constructor(
    readonly consumerGroup: string,
    public messageModel: MessageModel,
    public allocateStrategy: AllocateMessageQueueStrategy,
    protected readonly client: RebalanceClient,
    protected readonly logger: Logger,
  ) {}

  /** Drops the queues no longer ours; false keeps the queue in the table for the next round. */
  abstract removeUnnecessaryMessageQueue(mq: MessageQueue, pq: ProcessQueue): Promise<boolean>;
  /** The allocation of `topic` changed. */
  abstract messageQueueChanged(topic: string, mqAll: readonly MessageQueue[], mqDivided: readonly MessageQueue[]): void;
  abstract consumeType(): ConsumeType;
  /** Forgets a cached offset before a queue is (re)added. */
  abstract removeDirtyOffset(mq: MessageQueue): void;
  /** The offset a new queue starts at; < 0 skips the queue this round; throws on failure (skipped too). */
  abstract computePullFromWhere(mq: MessageQueue): Promise<number>;
  /** Starts pulling new queues. */
  abstract dispatchPullRequest(requests: PullRequest[]): void;

  // ---- locks (orderly) ------------------------------------------------------------------------------------------------

  private masterOf(brokerName: string): string | undefined {
    return this.client.findBrokerAddressInSubscribe(brokerName, MASTER_BROKER_ID, true)?.address;
  }

  /** LOCK_BATCH_MQ; the queues now held (rejects on a transport failure or an error code). */
  async lockBatchMQ(address: string, mqs: readonly MessageQueue[]): Promise<MessageQueue[]> {
    const body = LockBatchRequestBody.encode({ consumerGroup: this.consumerGroup, clientId: this.client.clientId, mqSet: [...mqs] });
    const context: ErrorContext = { brokerAddr: address };
    const response = await this.client.invokeBroker(address, requestCommand(RequestCode.LOCK_BATCH_MQ, {}, body), LOCK_REQUEST_TIMEOUT_MS, context);
    if (response.code !== ResponseCode.SUCCESS) throw new MQBrokerError(response.code, response.remark, address, context);
    if (response.body === null || response.body.length === 0) return [];
    return LockBatchResponseBody.decode(response.body).lockOKMQSet;
  }

  /** UNLOCK_BATCH_MQ, oneway or not. */
  async unlockBatchMQ(address: string, mqs: readonly MessageQueue[], oneway: boolean): Promise<void> {
    const body = UnlockBatchRequestBody.encode({ consumerGroup: this.consumerGroup, clientId: this.client.clientId, mqSet: [...mqs] });
    const context: ErrorContext = { brokerAddr: address };
    const request = requestCommand(RequestCode.UNLOCK_BATCH_MQ, {}, body, { oneway });
    if (oneway) {
      await this.client.invokeBrokerOneway(address, request, context);
      return;
    }
    const response = await this.client.invokeBroker(address, request, LOCK_REQUEST_TIMEOUT_MS, context);
    if (response.code !== ResponseCode.SUCCESS) throw new MQBrokerError(response.code, response.remark, address, context);
  }

  /** Locks one queue; marks its process queue (if any) locked. True when this member holds it. */
  async lock(mq: MessageQueue): Promise<boolean> {
    const address = this.masterOf(mq.brokerName);
    if (address === undefined) return false;
    try {
      const locked = await this.lockBatchMQ(address, [mq]);
      const now = Date.now();
      for (const queue of locked) {
        const entry = this.processQueueTable.get(messageQueueKey(queue));
        if (entry !== undefined) {
          entry.pq.locked = true;
          entry.pq.lastLockTimestamp = now;
        }
      }
      const key = messageQueueKey(mq);
      const ok = locked.some((queue) => messageQueueKey(queue) === key);
      this.logger.info(`consumer ${this.consumerGroup}: lock of ${key} ${ok ? 'OK' : 'failed'}`);
      return ok;
    } catch (error) {
      this.logger.error(`consumer ${this.consumerGroup}: LOCK_BATCH_MQ of ${messageQueueKey(mq)} failed: ${(error as Error).message}`);
      return false;
    }
  }

  private byBrokerName(): Map<string, MessageQueue[]> {
    const result = new Map<string, MessageQueue[]>();
    for (const { mq } of this.processQueueTable.values()) {
      let list = result.get(mq.brokerName);
      if (list === undefined) result.set(mq.brokerName, (list = []));
      list.push(mq);
    }
    return result;
  }

  /** Renews the locks of every queue in the table, broker by broker (every 20 s); queues not granted are marked unlocked. */
  async lockAll(): Promise<void> {
    for (const [brokerName, mqs] of this.byBrokerName()) {
      if (mqs.length === 0) continue;
      const address = this.masterOf(brokerName);
      if (address === undefined) continue;
      try {
        const locked = await this.lockBatchMQ(address, mqs);
        const lockedKeys = new Set(locked.map(messageQueueKey));
        const now = Date.now();
        for (const mq of mqs) {
          const entry = this.processQueueTable.get(messageQueueKey(mq));
          if (entry === undefined) continue;
          if (lockedKeys.has(messageQueueKey(mq))) {
            if (!entry.pq.locked) this.logger.info(`consumer ${this.consumerGroup}: ${messageQueueKey(mq)} locked`);
            entry.pq.locked = true;
            entry.pq.lastLockTimestamp = now;
          } else {
            if (entry.pq.locked) this.logger.warn(`consumer ${this.consumerGroup}: lock of ${messageQueueKey(mq)} lost`);
            entry.pq.locked = false;
          }
        }
      } catch (error) {
        this.logger.error(`consumer ${this.consumerGroup}: LOCK_BATCH_MQ to ${brokerName} failed: ${(error as Error).message}`);
      }
    }
  }

  async unlock(mq: MessageQueue, oneway: boolean): Promise<void> {
    const address = this.masterOf(mq.brokerName);
    if (address === undefined) return;
    try {
      await this.unlockBatchMQ(address, [mq], oneway);
      this.logger.info(`consumer ${this.consumerGroup}: unlocked ${messageQueueKey(mq)}`);
    } catch (error) {
      this.logger.error(`consumer ${this.consumerGroup}: UNLOCK_BATCH_MQ of ${messageQueueKey(mq)} failed: ${(error as Error).message}`);
    }
  }

  async unlockAll(oneway: boolean): Promise<void> {
    for (const [brokerName, mqs] of this.byBrokerName()) {
      if (mqs.length === 0) continue;
      const address = this.masterOf(brokerName);
      if (address === undefined) continue;
      try {
        await this.unlockBatchMQ(address, mqs, oneway);
        for (const mq of mqs) {
          const entry = this.processQueueTable.get(messageQueueKey(mq));
          if (entry !== undefined) entry.pq.locked = false;
        }
      } catch (error) {
        this.logger.error(`consumer ${this.consumerGroup}: UNLOCK_BATCH_MQ to ${brokerName} failed: ${(error as Error).message}`);
      }
    }
  }

  // ---- rebalance ------------------------------------------------------------------------------------------------------

  /** One round over every subscribed topic, then drops queues of topics no longer subscribed. */
  async doRebalance(isOrder: boolean): Promise<void> {
    for (const topic of [...this.subscriptionInner.keys()]) {
      try {
        await this.rebalanceByTopic(topic, isOrder);
      } catch (error) {
        if (!topic.startsWith(RETRY_GROUP_TOPIC_PREFIX)) {
          this.logger.warn(`consumer ${this.consumerGroup}: rebalance of ${topic} failed: ${(error as Error).message}`);
        }
      }
    }
    this.truncateMessageQueueNotMyTopic();
  }

  private async rebalanceByTopic(topic: string, isOrder: boolean): Promise<void> {
    const mqSet = this.topicSubscribeInfoTable.get(topic);
    if (this.messageModel === 'BROADCASTING') {
      if (mqSet === undefined) {
        this.logger.warn(`consumer ${this.consumerGroup}: rebalance, but the topic[${topic}] does not exist`);
        return;
      }
      if (await this.updateProcessQueueTableInRebalance(topic, mqSet, isOrder)) this.messageQueueChanged(topic, mqSet, mqSet);
      return;
    }
    let cidAll: string[] | null = null;
    try {
      cidAll = await this.client.findConsumerIdList(topic, this.consumerGroup);
    } catch (error) {
      this.logger.warn(`consumer ${this.consumerGroup}: rebalance of ${topic}, get consumer id list failed: ${(error as Error).message}`);
    }
    if (mqSet === undefined && !topic.startsWith(RETRY_GROUP_TOPIC_PREFIX)) {
      this.logger.warn(`consumer ${this.consumerGroup}: rebalance, but the topic[${topic}] does not exist`);
    }
    if (mqSet === undefined || cidAll === null) return;
    const sorted = sortAllocationInput(mqSet, cidAll);
    let allocated: MessageQueue[];
    try {
      allocated = this.allocateStrategy(this.consumerGroup, this.client.clientId, sorted.mqAll, sorted.cidAll);
    } catch (error) {
      this.logger.error(`consumer ${this.consumerGroup}: allocation of ${topic} failed: ${(error as Error).message}`);
      return;
    }
    const unique = new Map<string, MessageQueue>();
    for (const mq of allocated ?? []) unique.set(messageQueueKey(mq), mq);
    const mqDivided = [...unique.values()];
    if (await this.updateProcessQueueTableInRebalance(topic, mqDivided, isOrder)) {
      this.logger.info(`consumer ${this.consumerGroup}: rebalance of ${topic} changed: ${mqDivided.length} of ${mqSet.length} queues `
        + `(${cidAll.length} members): ${mqDivided.map(messageQueueKey).join(', ')}`);
      this.messageQueueChanged(topic, mqSet, mqDivided);
    }
  }

  private truncateMessageQueueNotMyTopic(): void {
    for (const [key, entry] of [...this.processQueueTable]) {
      if (!this.subscriptionInner.has(entry.mq.topic)) {
        this.processQueueTable.delete(key);
        entry.pq.dropped = true;
        this.logger.info(`consumer ${this.consumerGroup}: ${key} removed (topic no longer subscribed)`);
      }
    }
  }

  private async updateProcessQueueTableInRebalance(topic: string, mqSet: readonly MessageQueue[], isOrder: boolean): Promise<boolean> {
    let changed = false;
    const wanted = new Set(mqSet.map(messageQueueKey));
    for (const [key, entry] of [...this.processQueueTable]) {
      if (entry.mq.topic !== topic) continue;
      if (!wanted.has(key)) {
        entry.pq.dropped = true;
        if (await this.removeUnnecessaryMessageQueue(entry.mq, entry.pq)) {
          if (this.processQueueTable.get(key) === entry) this.processQueueTable.delete(key);
          changed = true;
          this.logger.info(`consumer ${this.consumerGroup}: ${key} removed (no longer allocated here)`);
        }
      } else if (entry.pq.isPullExpired() && this.consumeType() === 'CONSUME_PASSIVELY') {
        entry.pq.dropped = true;
        if (await this.removeUnnecessaryMessageQueue(entry.mq, entry.pq)) {
          if (this.processQueueTable.get(key) === entry) this.processQueueTable.delete(key);
          changed = true;
          this.logger.error(`consumer ${this.consumerGroup}: ${key} removed because its pull stalled; it is re-added`);
        }
      }
    }
    const requests: PullRequest[] = [];
    for (const mq of mqSet) {
      const key = messageQueueKey(mq);
      if (this.processQueueTable.has(key)) continue;
      if (isOrder && !(await this.lock(mq))) {
        this.logger.warn(`consumer ${this.consumerGroup}: ${key} not added: its lock is held by another member`);
        continue;
      }
      this.removeDirtyOffset(mq);
      const pq = new ProcessQueue();
      if (isOrder) {
        // Locked just above (RocketMQ 5 marks the new process queue locked too; 4.9 waits for the next lockAll).
        pq.locked = true;
        pq.lastLockTimestamp = Date.now();
      }
      let nextOffset: number;
      try {
        nextOffset = await this.computePullFromWhere(mq);
      } catch (error) {
        this.logger.info(`consumer ${this.consumerGroup}: ${key} not added: its start offset is unknown: ${(error as Error).message}`);
        continue;
      }
      if (nextOffset < 0) {
        this.logger.warn(`consumer ${this.consumerGroup}: ${key} not added: start offset ${nextOffset}`);
        continue;
      }
      if (this.processQueueTable.has(key)) {
        this.logger.info(`consumer ${this.consumerGroup}: ${key} already exists`);
        continue;
      }
      this.processQueueTable.set(key, { mq, pq });
      this.logger.info(`consumer ${this.consumerGroup}: ${key} added, starting at offset ${nextOffset}`);
      requests.push({ consumerGroup: this.consumerGroup, mq, pq, nextOffset, previouslyLocked: false });
      changed = true;
    }
    this.dispatchPullRequest(requests);
    return changed;
  }

  /** Drops one queue now (after OFFSET_ILLEGAL); the next round re-adds it if it is still ours. */
  async removeProcessQueue(mq: MessageQueue): Promise<void> {
    const key = messageQueueKey(mq);
    const entry = this.processQueueTable.get(key);
    if (entry === undefined) return;
    this.processQueueTable.delete(key);
    entry.pq.dropped = true;
    await this.removeUnnecessaryMessageQueue(mq, entry.pq);
    this.logger.info(`consumer ${this.consumerGroup}: ${key} removed`);
  }

  /** Every queue dropped (shutdown). */
  destroy(): void {
    for (const entry of this.processQueueTable.values()) entry.pq.dropped = true;
    this.processQueueTable.clear();
  }

  /** The queues in the table. */
  allocatedQueues(): MessageQueue[] {
    return [...this.processQueueTable.values()].map((entry) => entry.mq);
  }
}

/** MQClientError for a missing broker (used by subclasses computing offsets). */
export function brokerNotFound(mq: MessageQueue): MQClientError {
  return new MQClientError(`the broker[${mq.brokerName}] not exist`, { topic: mq.topic, brokerName: mq.brokerName, queueId: mq.queueId });
}
