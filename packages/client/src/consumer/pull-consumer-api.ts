import { InvalidArgumentError } from '@tern/common';
import {
  GetMaxOffsetRequestHeader, GetMinOffsetRequestHeader, OffsetResponseHeader, PullMessageRequestHeader, PullMessageResponseHeader,
  type RemotingCommand, RequestCode, ResponseCode, SearchOffsetRequestHeader, type SubscriptionData, decodeCustomHeader,
  encodeCustomHeader, javaStringHashCode, requestCommand,
} from '@tern/protocol';
import { type ErrorContext, MQBrokerError, MQClientError } from '../errors.js';
import { type MessageExt, decodeMessages } from '../message.js';
import type { MessageQueue } from '../route.js';

/*
 * The wire side of the pull consumer (RocketMQ's PullAPIWrapper / MQClientAPIImpl.pullMessage, getMaxOffset,
 * getMinOffset, searchOffset, FilterAPI): how the requests are built and their answers read. No I/O here.
 */

/** PullSysFlag bits (Java's PullSysFlag). */
export const PullSysFlag = { COMMIT_OFFSET: 1, SUSPEND: 2, SUBSCRIPTION: 4, CLASS_FILTER: 8 } as const;

/** What to receive from a topic: a tag expression ("*", "TagA || TagB") or a SQL92 expression over properties. */
export type MessageSelector = string | { type: 'TAG' | 'SQL92'; expression: string };

/** SubscriptionData.SUB_ALL. */
export const SUB_ALL = '*';

/**
 * Java's FilterAPI.buildSubscriptionData: "*" or "" → everything; otherwise the tags split on "||" and trimmed, each
 * with its Java String.hashCode (the broker filters on the hash in the ConsumeQueue, the client on the tag itself).
 * SQL92 expressions are passed through (the broker evaluates them). Throws InvalidArgumentError for an expression
 * with no tag in it.
 */
export function buildSubscriptionData(topic: string, selector: MessageSelector = SUB_ALL, subVersion: number = Date.now()): SubscriptionData {
  const type = typeof selector === 'string' ? 'TAG' : selector.type;
  const expression = (typeof selector === 'string' ? selector : selector.expression).trim();
  if (type === 'SQL92') {
    if (expression.length === 0) throw InvalidArgumentError.format('expression', 'a SQL92 expression must not be empty');
    return { topic, subString: expression, classFilterMode: false, tagsSet: [], codeSet: [], subVersion, expressionType: 'SQL92' };
  }
  if (type !== 'TAG') throw InvalidArgumentError.format('selector.type', `must be TAG or SQL92, got ${String(type)}`);
  if (expression === '' || expression === SUB_ALL) {
    return { topic, subString: SUB_ALL, classFilterMode: false, tagsSet: [], codeSet: [], subVersion, expressionType: 'TAG' };
  }
  const tags = [...new Set(expression.split('||').map((tag) => tag.trim()).filter((tag) => tag.length > 0))];
  if (tags.length === 0) throw InvalidArgumentError.format('expression', `no tag in ${JSON.stringify(expression)}`);
  return {
    topic, subString: expression, classFilterMode: false, tagsSet: tags, codeSet: tags.map((tag) => javaStringHashCode(tag)), subVersion,
    expressionType: 'TAG',
  };
}

/** The client-side tag check (PullAPIWrapper.processPullResult): hash collisions pass the broker, not this. */
export function matchesSubscription(subscription: SubscriptionData, message: MessageExt): boolean {
  if (subscription.expressionType === 'SQL92' || subscription.classFilterMode || subscription.tagsSet.length === 0) return true;
  return message.tags !== undefined && subscription.tagsSet.includes(message.tags);
}

export interface PullRequestInput {
  consumerGroup: string;
  mq: MessageQueue;
  subscription: SubscriptionData;
  queueOffset: number;
  maxMsgNums: number;
  /** How long the broker may hold the pull when there is nothing new (0: answer at once). */
  suspendTimeoutMs: number;
  /** Committed offset riding on the pull (COMMIT_OFFSET flag); null for none. */
  commitOffset?: number | null;
}

/** PULL_MESSAGE (11) with the subscription in the request (the lite pull consumer's form: no heartbeat subscription needed). */
export function pullRequest(input: PullRequestInput): RemotingCommand {
  const commit = input.commitOffset !== undefined && input.commitOffset !== null && input.commitOffset > 0;
  let sysFlag = PullSysFlag.SUBSCRIPTION;
  if (commit) sysFlag |= PullSysFlag.COMMIT_OFFSET;
  if (input.suspendTimeoutMs > 0) sysFlag |= PullSysFlag.SUSPEND;
  return requestCommand(RequestCode.PULL_MESSAGE, encodeCustomHeader(PullMessageRequestHeader, {
    consumerGroup: input.consumerGroup,
    topic: input.mq.topic,
    queueId: input.mq.queueId,
    queueOffset: input.queueOffset,
    maxMsgNums: input.maxMsgNums,
    sysFlag,
    commitOffset: commit ? input.commitOffset! : 0,
    suspendTimeoutMillis: input.suspendTimeoutMs,
    subscription: input.subscription.subString,
    subVersion: input.subscription.subVersion,
    expressionType: input.subscription.expressionType ?? 'TAG',
  }));
}

/** Java's PullStatus. */
export type PullStatus = 'FOUND' | 'NO_NEW_MSG' | 'NO_MATCHED_MSG' | 'OFFSET_ILLEGAL';

export interface PullResult {
  status: PullStatus;
  nextBeginOffset: number;
  minOffset: number;
  maxOffset: number;
  suggestWhichBrokerId: number;
  /** Decoded messages (FOUND only), before the client-side tag check. */
  messages: MessageExt[];
}

const PULL_STATUS_BY_CODE: ReadonlyMap<number, PullStatus> = new Map<number, PullStatus>([
  [ResponseCode.SUCCESS, 'FOUND'],
  [ResponseCode.PULL_NOT_FOUND, 'NO_NEW_MSG'],
  [ResponseCode.PULL_RETRY_IMMEDIATELY, 'NO_MATCHED_MSG'],
  [ResponseCode.PULL_OFFSET_MOVED, 'OFFSET_ILLEGAL'],
]);

/** Reads a PULL_MESSAGE answer; MQBrokerError for codes other than 0/19/20/21, MQClientError for a malformed one. */
export function readPullResponse(response: RemotingCommand, brokerAddr: string, context: ErrorContext): PullResult {
  const status = PULL_STATUS_BY_CODE.get(response.code);
  if (status === undefined) throw new MQBrokerError(response.code, response.remark, brokerAddr, context);
  try {
    const header = decodeCustomHeader(PullMessageResponseHeader, response.extFields);
    return {
      status,
      nextBeginOffset: header.nextBeginOffset,
      minOffset: header.minOffset,
      maxOffset: header.maxOffset,
      suggestWhichBrokerId: header.suggestWhichBrokerId,
      messages: status === 'FOUND' ? decodeMessages(response.body) : [],
    };
  } catch (error) {
    throw new MQClientError(`pull answer does not decode: ${(error as Error).message}`, { ...context, brokerAddr, cause: error, retriable: true });
  }
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
