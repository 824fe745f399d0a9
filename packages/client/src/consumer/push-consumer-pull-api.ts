import {
  MessageProperty, PullMessageRequestHeader, PullMessageResponseHeader, type RemotingCommand, RequestCode, ResponseCode, type SubscriptionData,
  decodeCustomHeader, encodeCustomHeader, javaStringHashCode, requestCommand,
} from '@tern/protocol';
import type { Logger } from '@tern/common';
import { InvalidArgumentError } from '@tern/common';
import { ClientErrorCode, type ErrorContext, MQBrokerError, MQClientError } from '../errors.js';
import { type MessageExt, decodeMessages } from '../message.js';
import { MASTER_BROKER_ID, type MessageQueue, messageQueueKey } from '../route.js';

/*
 * PULL_MESSAGE as RocketMQ's PullAPIWrapper / MQClientAPIImpl.pullMessage build and read it, and the subscription
 * data of FilterAPI.buildSubscriptionData.
 */

/** SubscriptionData.SUB_ALL. */
export const SUB_ALL = '*';

/** PullSysFlag bits. */
export const PullSysFlag = { COMMIT_OFFSET: 1, SUSPEND: 2, SUBSCRIPTION: 4, CLASS_FILTER: 8 } as const;

export function buildPullSysFlag(commitOffset: boolean, suspend: boolean, subscription: boolean, classFilter: boolean): number {
  return (commitOffset ? PullSysFlag.COMMIT_OFFSET : 0) | (suspend ? PullSysFlag.SUSPEND : 0)
    | (subscription ? PullSysFlag.SUBSCRIPTION : 0) | (classFilter ? PullSysFlag.CLASS_FILTER : 0);
}

/**
 * FilterAPI.buildSubscriptionData for a TAG expression: "", null or "*" → all; otherwise the tags split on "||",
 * trimmed, with their Java hash codes. subVersion = now (ms), as Java sets it.
 */
export function buildSubscriptionData(topic: string, subExpression: string | null | undefined, nowMs = Date.now()): SubscriptionData {
  if (subExpression !== null && subExpression !== undefined && typeof subExpression !== 'string') {
    throw InvalidArgumentError.format('subExpression', 'must be a string');
  }
  const data: SubscriptionData = {
    topic, subString: SUB_ALL, classFilterMode: false, tagsSet: [], codeSet: [], subVersion: nowMs, expressionType: 'TAG',
  };
  if (subExpression === null || subExpression === undefined || subExpression === SUB_ALL || subExpression.length === 0) return data;
  data.subString = subExpression;
  for (const tag of subExpression.split('||')) {
    const trimmed = tag.trim();
    if (trimmed.length === 0 || data.tagsSet.includes(trimmed)) continue;
    data.tagsSet.push(trimmed);
    data.codeSet.push(javaStringHashCode(trimmed));
  }
  if (data.tagsSet.length === 0) throw InvalidArgumentError.format('subExpression', `"${subExpression}" names no tag`);
  return data;
}

export type PullStatus = 'FOUND' | 'NO_NEW_MSG' | 'NO_MATCHED_MSG' | 'OFFSET_ILLEGAL';

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

/** What PullAPIWrapper needs of a ClientInstance. */
export interface PullClient {
  findBrokerAddressInSubscribe(brokerName: string, brokerId: number, onlyThisBroker: boolean): { address: string; slave: boolean } | undefined;
  updateTopicRoute(topic: string): Promise<unknown>;
  invokeBroker(brokerAddr: string, request: RemotingCommand, timeoutMs: number, context?: ErrorContext): Promise<RemotingCommand>;
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

const STATUS_BY_CODE: ReadonlyMap<number, PullStatus> = new Map<number, PullStatus>([
  [ResponseCode.SUCCESS, 'FOUND'],
  [ResponseCode.PULL_NOT_FOUND, 'NO_NEW_MSG'],
  [ResponseCode.PULL_RETRY_IMMEDIATELY, 'NO_MATCHED_MSG'],
  [ResponseCode.PULL_OFFSET_MOVED, 'OFFSET_ILLEGAL'],
]);

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
    let found = this.client.findBrokerAddressInSubscribe(mq.brokerName, this.recalculatePullFromWhichNode(mq), false);
    if (found === undefined) {
      await this.client.updateTopicRoute(mq.topic);
      found = this.client.findBrokerAddressInSubscribe(mq.brokerName, this.recalculatePullFromWhichNode(mq), false);
    }
    if (found === undefined) {
      throw new MQClientError(`the broker[${mq.brokerName}] not exist`, {
        topic: mq.topic, brokerName: mq.brokerName, queueId: mq.queueId, code: ClientErrorCode.BROKER_NOT_EXIST_EXCEPTION,
      });
    }
    let sysFlag = request.sysFlag;
    // A slave never stores offsets: do not ask it to (PullSysFlag.clearCommitOffsetFlag).
    if (found.slave) sysFlag &= ~PullSysFlag.COMMIT_OFFSET;
    const header: Record<string, string> = encodeCustomHeader(PullMessageRequestHeader, {
      consumerGroup: this.consumerGroup,
      topic: mq.topic,
      queueId: mq.queueId,
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
    const response = await this.client.invokeBroker(found.address, requestCommand(RequestCode.PULL_MESSAGE, header), request.timeoutMillis, context);
    const status = STATUS_BY_CODE.get(response.code);
    if (status === undefined) throw new MQBrokerError(response.code, response.remark, found.address, context);
    let responseHeader: PullMessageResponseHeader;
    try {
      responseHeader = decodeCustomHeader(PullMessageResponseHeader, response.extFields);
    } catch (error) {
      throw new MQClientError(`pull answer ${response.code} has a bad header: ${(error as Error).message}`, {
        ...context, code: response.code, cause: error, retriable: true,
      });
    }
    return {
      result: {
        pullStatus: status,
        nextBeginOffset: responseHeader.nextBeginOffset,
        minOffset: responseHeader.minOffset,
        maxOffset: responseHeader.maxOffset,
        suggestWhichBrokerId: responseHeader.suggestWhichBrokerId,
        msgFoundList: [],
        brokerMessageCount: 0,
      },
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
    let kept = decoded;
    if (subscription.tagsSet.length > 0 && !subscription.classFilterMode) {
      const tags = new Set(subscription.tagsSet);
      kept = decoded.filter((message) => message.tags !== undefined && tags.has(message.tags));
    }
    const minOffset = String(result.minOffset);
    const maxOffset = String(result.maxOffset);
    const msgFoundList = kept.map((message) => Object.freeze({
      ...message,
      properties: Object.freeze({ ...message.properties, [MessageProperty.MIN_OFFSET]: minOffset, [MessageProperty.MAX_OFFSET]: maxOffset }),
    }));
    return { ...result, msgFoundList, brokerMessageCount: decoded.length };
  }
}
