import { MessageProperty, type SubscriptionData } from '@tern/protocol';
import type { Logger } from '@tern/common';
import type { ErrorContext } from '../errors.js';
import { type MessageExt, decodeMessages } from '../message.js';
import { MASTER_BROKER_ID, type MessageQueue, messageQueueKey } from '../route.js';
import {
  type PullClient, type PullStatus, PullSysFlag, matchesSubscription, pullMessageRequest, readPullAnswer, subscribeBrokerAddress,
} from './pull-api.js';

/*
 * The push consumer's PullAPIWrapper: PULL_MESSAGE (pull-api.ts, shared with the lite pull consumer) sent to the
 * broker the last answer suggested, and the client-side processing of what it found.
 */

export interface PullResult {
  pullStatus: PullStatus;
  nextBeginOffset: number;
  minOffset: number;
  maxOffset: number;
  suggestWhichBrokerId: number;
  /** FOUND: the decoded messages after the client-side tag filter. */
  msgFoundList: MessageExt[];
  /** FOUND: how many records the broker returned (before the client-side filter). */
  brokerMessageCount: number;
}

export interface PullKernelRequest {
  mq: MessageQueue;
  subExpression: string | null;
  expressionType: string | undefined;
  subVersion: number;
  offset: number;
  maxNums: number;
  sysFlag: number;
  commitOffset: number;
  brokerSuspendMaxTimeMillis: number;
  timeoutMillis: number;
}

export class PullAPIWrapper {
  /** Queue → the broker id the last answer suggested (pullFromWhichNodeTable). */
  private readonly pullFromWhichNode = new Map<string, number>();

  constructor(private readonly client: PullClient, readonly consumerGroup: string, private readonly logger: Logger) {}

  private recalculatePullFromWhichNode(mq: MessageQueue): number {
    return this.pullFromWhichNode.get(messageQueueKey(mq)) ?? MASTER_BROKER_ID;
  }

  /** Sends PULL_MESSAGE and reads the answer (no client-side filtering yet). Rejects with MQBrokerError / MQClientError. */
  async pullKernelImpl(request: PullKernelRequest): Promise<{ result: PullResult; body: Buffer | null }> {
    const { mq } = request;
    const found = await subscribeBrokerAddress(this.client, mq, this.recalculatePullFromWhichNode(mq));
    let sysFlag = request.sysFlag;
    // A slave never stores offsets: do not ask it to (PullSysFlag.clearCommitOffsetFlag).
    if (found.slave) sysFlag &= ~PullSysFlag.COMMIT_OFFSET;
    const pull = pullMessageRequest({
      consumerGroup: this.consumerGroup,
      mq,
      queueOffset: request.offset,
      maxMsgNums: request.maxNums,
      sysFlag,
      commitOffset: request.commitOffset,
      suspendTimeoutMillis: request.brokerSuspendMaxTimeMillis,
      subscription: request.subExpression ?? undefined,
      subVersion: request.subVersion,
      expressionType: request.expressionType,
    });
    const context: ErrorContext = { topic: mq.topic, brokerName: mq.brokerName, queueId: mq.queueId, brokerAddr: found.address };
    const response = await this.client.invokeBroker(found.address, pull, request.timeoutMillis, context);
    const { status, ...answer } = readPullAnswer(response, found.address, context);
    return {
      result: { pullStatus: status, ...answer, msgFoundList: [], brokerMessageCount: 0 },
      body: status === 'FOUND' ? response.body : null,
    };
  }

  /**
   * PullAPIWrapper.processPullResult: remembers the suggested broker, decodes a FOUND body, keeps only messages whose
   * tag is in the subscription's tag set (the broker filtered by tag hash only), and stamps MIN_OFFSET / MAX_OFFSET
   * on every message.
   */
  processPullResult(mq: MessageQueue, result: PullResult, body: Buffer | null, subscription: SubscriptionData): PullResult {
    const key = messageQueueKey(mq);
    const previous = this.pullFromWhichNode.get(key) ?? MASTER_BROKER_ID;
    if (previous !== result.suggestWhichBrokerId) {
      this.logger.debug(`consumer ${this.consumerGroup}: ${key} is pulled from broker id ${result.suggestWhichBrokerId} next (was ${previous})`);
    }
    this.pullFromWhichNode.set(key, result.suggestWhichBrokerId);
    if (result.pullStatus !== 'FOUND') return result;
    const decoded = decodeMessages(body);
    const kept = decoded.filter((message) => matchesSubscription(subscription, message));
    const minOffset = String(result.minOffset);
    const maxOffset = String(result.maxOffset);
    // decodeMessages returns fresh objects this consumer owns: stamp them in place rather than copying each one.
    for (const message of kept) {
      const properties = message.properties as Record<string, string>;
      properties[MessageProperty.MIN_OFFSET] = minOffset;
      properties[MessageProperty.MAX_OFFSET] = maxOffset;
    }
    const msgFoundList = kept;
    return { ...result, msgFoundList, brokerMessageCount: decoded.length };
  }
}
