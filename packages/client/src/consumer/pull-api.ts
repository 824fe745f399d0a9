import { InvalidArgumentError } from '@tern/common';
import {
  GetMaxOffsetRequestHeader, GetMinOffsetRequestHeader, OffsetResponseHeader, PullMessageRequestHeader, PullMessageResponseHeader,
  type RemotingCommand, RequestCode, ResponseCode, SearchOffsetRequestHeader, type SubscriptionData, decodeCustomHeader,
  encodeCustomHeader, javaStringHashCode, requestCommand,
} from '@tern/protocol';
import { ClientErrorCode, type ErrorContext, MQBrokerError, MQClientError } from '../errors.js';
import type { MessageExt } from '../message.js';
import type { MessageQueue } from '../route.js';

/*
 * The wire side both consumers share (RocketMQ's PullAPIWrapper / MQClientAPIImpl.pullMessage, getMaxOffset,
 * getMinOffset, searchOffset, FilterAPI): subscription data, PULL_MESSAGE and the offset queries, how they are built,
 * which broker they go to and how their answers are read. The push consumer's PullAPIWrapper
 * (push-consumer-pull-api.ts) and the lite pull consumer (pull-consumer-api.ts, pull-consumer.ts) build on it.
 */

/** SubscriptionData.SUB_ALL. */
export const SUB_ALL = '*';

/** PullSysFlag bits (Java's PullSysFlag). */
export const PullSysFlag = { COMMIT_OFFSET: 1, SUSPEND: 2, SUBSCRIPTION: 4, CLASS_FILTER: 8 } as const;

export function buildPullSysFlag(commitOffset: boolean, suspend: boolean, subscription: boolean, classFilter: boolean): number {
  return (commitOffset ? PullSysFlag.COMMIT_OFFSET : 0) | (suspend ? PullSysFlag.SUSPEND : 0)
    | (subscription ? PullSysFlag.SUBSCRIPTION : 0) | (classFilter ? PullSysFlag.CLASS_FILTER : 0);
}

/**
 * FilterAPI.buildSubscriptionData for a TAG expression: "", null or "*" → all; otherwise the tags split on "||",
 * trimmed, with their Java hash codes (the broker filters on the hash in the ConsumeQueue, the client on the tag
 * itself). subVersion = now (ms), as Java sets it. Throws InvalidArgumentError for an expression with no tag in it.
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

/** The client-side tag check (PullAPIWrapper.processPullResult): hash collisions pass the broker, not this. */
export function matchesSubscription(subscription: SubscriptionData, message: MessageExt): boolean {
  if (subscription.expressionType === 'SQL92' || subscription.classFilterMode || subscription.tagsSet.length === 0) return true;
  return message.tags !== undefined && subscription.tagsSet.includes(message.tags);
}

/** What the consumers need of a ClientInstance to reach a queue's broker. */
export interface PullClient {
  findBrokerAddressInSubscribe(brokerName: string, brokerId: number, onlyThisBroker: boolean): { address: string; slave: boolean } | undefined;
  updateTopicRoute(topic: string): Promise<unknown>;
  invokeBroker(brokerAddr: string, request: RemotingCommand, timeoutMs: number, context?: ErrorContext): Promise<RemotingCommand>;
}

/** ... and, for the offset queries, its masters. */
export interface OffsetClient extends PullClient {
  findBrokerAddressInPublish(brokerName: string): string | undefined;
}

function brokerNotExist(mq: MessageQueue): MQClientError {
  return new MQClientError(`the broker[${mq.brokerName}] not exist`, {
    topic: mq.topic, brokerName: mq.brokerName, queueId: mq.queueId, code: ClientErrorCode.BROKER_NOT_EXIST_EXCEPTION,
  });
}

/**
 * The address to pull `mq` from (`brokerId` if known, else another of its broker set), looking the route up again
 * when none is known. Rejects with MQClientError BROKER_NOT_EXIST_EXCEPTION.
 */
export async function subscribeBrokerAddress(client: PullClient, mq: MessageQueue, brokerId: number): Promise<{ address: string; slave: boolean }> {
  let found = client.findBrokerAddressInSubscribe(mq.brokerName, brokerId, false);
  if (found === undefined) {
    await client.updateTopicRoute(mq.topic);
    found = client.findBrokerAddressInSubscribe(mq.brokerName, brokerId, false);
  }
  if (found === undefined) throw brokerNotExist(mq);
  return found;
}

/** The master address of `mq`'s broker, looking the route up again when none is known. Rejects as subscribeBrokerAddress. */
export async function masterBrokerAddress(client: OffsetClient, mq: MessageQueue): Promise<string> {
  let address = client.findBrokerAddressInPublish(mq.brokerName);
  if (address === undefined) {
    await client.updateTopicRoute(mq.topic);
    address = client.findBrokerAddressInPublish(mq.brokerName);
  }
  if (address === undefined) throw brokerNotExist(mq);
  return address;
}

/** The header fields of PULL_MESSAGE (11). */
export interface PullMessageInput {
  consumerGroup: string;
  mq: MessageQueue;
  queueOffset: number;
  maxMsgNums: number;
  sysFlag: number;
  commitOffset: number;
  /** How long the broker may hold the pull when there is nothing new (0: answer at once). */
  suspendTimeoutMillis: number;
  subscription: string | undefined;
  subVersion: number;
  expressionType: string | undefined;
}

/** PULL_MESSAGE (11). */
export function pullMessageRequest(input: PullMessageInput): RemotingCommand {
  return requestCommand(RequestCode.PULL_MESSAGE, encodeCustomHeader(PullMessageRequestHeader, {
    consumerGroup: input.consumerGroup,
    topic: input.mq.topic,
    queueId: input.mq.queueId,
    queueOffset: input.queueOffset,
    maxMsgNums: input.maxMsgNums,
    sysFlag: input.sysFlag,
    commitOffset: input.commitOffset,
    suspendTimeoutMillis: input.suspendTimeoutMillis,
    subscription: input.subscription,
    subVersion: input.subVersion,
    expressionType: input.expressionType,
  }));
}

/** Java's PullStatus. */
export type PullStatus = 'FOUND' | 'NO_NEW_MSG' | 'NO_MATCHED_MSG' | 'OFFSET_ILLEGAL';

/** The header of a PULL_MESSAGE answer (its body, FOUND only, holds the messages). */
export interface PullAnswer {
  status: PullStatus;
  nextBeginOffset: number;
  minOffset: number;
  maxOffset: number;
  suggestWhichBrokerId: number;
}

const PULL_STATUS_BY_CODE: ReadonlyMap<number, PullStatus> = new Map<number, PullStatus>([
  [ResponseCode.SUCCESS, 'FOUND'],
  [ResponseCode.PULL_NOT_FOUND, 'NO_NEW_MSG'],
  [ResponseCode.PULL_RETRY_IMMEDIATELY, 'NO_MATCHED_MSG'],
  [ResponseCode.PULL_OFFSET_MOVED, 'OFFSET_ILLEGAL'],
]);

/** Reads the header of a PULL_MESSAGE answer; MQBrokerError for codes other than 0/19/20/21, MQClientError for a bad header. */
export function readPullAnswer(response: RemotingCommand, brokerAddr: string, context: ErrorContext): PullAnswer {
  const status = PULL_STATUS_BY_CODE.get(response.code);
  if (status === undefined) throw new MQBrokerError(response.code, response.remark, brokerAddr, context);
  let header: PullMessageResponseHeader;
  try {
    header = decodeCustomHeader(PullMessageResponseHeader, response.extFields);
  } catch (error) {
    throw new MQClientError(`pull answer ${response.code} has a bad header: ${(error as Error).message}`, {
      ...context, brokerAddr, code: response.code, cause: error, retriable: true,
    });
  }
  return {
    status,
    nextBeginOffset: header.nextBeginOffset,
    minOffset: header.minOffset,
    maxOffset: header.maxOffset,
    suggestWhichBrokerId: header.suggestWhichBrokerId,
  };
}

/** GET_MAX_OFFSET (30): one past the last message of the queue. */
export function maxOffsetRequest(mq: MessageQueue): RemotingCommand {
  return requestCommand(RequestCode.GET_MAX_OFFSET, encodeCustomHeader(GetMaxOffsetRequestHeader, { topic: mq.topic, queueId: mq.queueId }));
}

/** GET_MIN_OFFSET (31): the first message still stored. */
export function minOffsetRequest(mq: MessageQueue): RemotingCommand {
  return requestCommand(RequestCode.GET_MIN_OFFSET, encodeCustomHeader(GetMinOffsetRequestHeader, { topic: mq.topic, queueId: mq.queueId }));
}

/** SEARCH_OFFSET_BY_TIMESTAMP (29). */
export function searchOffsetRequest(mq: MessageQueue, timestampMs: number): RemotingCommand {
  return requestCommand(RequestCode.SEARCH_OFFSET_BY_TIMESTAMP, encodeCustomHeader(SearchOffsetRequestHeader, {
    topic: mq.topic, queueId: mq.queueId, timestamp: timestampMs,
  }));
}

/** The `offset` of a GET_MAX_OFFSET / GET_MIN_OFFSET / SEARCH_OFFSET_BY_TIMESTAMP answer; MQBrokerError otherwise. */
export function readOffsetResponse(response: RemotingCommand, brokerAddr: string, context: ErrorContext): number {
  if (response.code !== ResponseCode.SUCCESS) throw new MQBrokerError(response.code, response.remark, brokerAddr, context);
  try {
    return decodeCustomHeader(OffsetResponseHeader, response.extFields).offset;
  } catch (error) {
    throw new MQClientError(`offset answer does not decode: ${(error as Error).message}`, { ...context, brokerAddr, cause: error });
  }
}

/** Sends an offset query (maxOffsetRequest, minOffsetRequest, searchOffsetRequest) to `mq`'s master; its `offset`. */
export async function queryBrokerOffset(client: OffsetClient, mq: MessageQueue, request: RemotingCommand, timeoutMs: number): Promise<number> {
  const address = await masterBrokerAddress(client, mq);
  const context: ErrorContext = { topic: mq.topic, brokerName: mq.brokerName, queueId: mq.queueId, brokerAddr: address };
  const response = await client.invokeBroker(address, request, timeoutMs, context);
  return readOffsetResponse(response, address, context);
}
