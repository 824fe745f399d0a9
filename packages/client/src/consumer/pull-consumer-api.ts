import { InvalidArgumentError } from '@tern/common';
import type { RemotingCommand, SubscriptionData } from '@tern/protocol';
import { type ErrorContext, MQClientError } from '../errors.js';
import { type MessageExt, decodeMessages } from '../message.js';
import type { MessageQueue } from '../route.js';
import {
  type PullAnswer, SUB_ALL, buildPullSysFlag, buildSubscriptionData as buildTagSubscriptionData, pullMessageRequest, readPullAnswer,
} from './pull-api.js';

/*
 * The lite pull consumer's side of the wire on top of pull-api.ts (shared with the push consumer): subscriptions from
 * a MessageSelector, PULL_MESSAGE with the subscription in the request, answers with their messages decoded.
 */

export { PullSysFlag, SUB_ALL, matchesSubscription } from './pull-api.js';
export type { PullStatus } from './pull-api.js';

/** What to receive from a topic: a tag expression ("*", "TagA || TagB") or a SQL92 expression over properties. */
export type MessageSelector = string | { type: 'TAG' | 'SQL92'; expression: string };

/**
 * Java's FilterAPI.buildSubscriptionData (pull-api.ts) of the trimmed expression: "*" or "" → everything; otherwise
 * the tags. SQL92 expressions are passed through (the broker evaluates them). Throws InvalidArgumentError for an
 * expression with no tag in it.
 */
export function buildSubscriptionData(topic: string, selector: MessageSelector = SUB_ALL, subVersion: number = Date.now()): SubscriptionData {
  const type = typeof selector === 'string' ? 'TAG' : selector.type;
  const expression = (typeof selector === 'string' ? selector : selector.expression).trim();
  if (type === 'SQL92') {
    if (expression.length === 0) throw InvalidArgumentError.format('expression', 'a SQL92 expression must not be empty');
    return { topic, subString: expression, classFilterMode: false, tagsSet: [], codeSet: [], subVersion, expressionType: 'SQL92' };
  }
  if (type !== 'TAG') throw InvalidArgumentError.format('selector.type', `must be TAG or SQL92, got ${String(type)}`);
  return buildTagSubscriptionData(topic, expression, subVersion);
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
  return pullMessageRequest({
    consumerGroup: input.consumerGroup,
    mq: input.mq,
    queueOffset: input.queueOffset,
    maxMsgNums: input.maxMsgNums,
    sysFlag: buildPullSysFlag(commit, input.suspendTimeoutMs > 0, true, false),
    commitOffset: commit ? input.commitOffset! : 0,
    suspendTimeoutMillis: input.suspendTimeoutMs,
    subscription: input.subscription.subString,
    subVersion: input.subscription.subVersion,
    expressionType: input.subscription.expressionType ?? 'TAG',
  });
}

export interface PullResult extends PullAnswer {
  /** Decoded messages (FOUND only), before the client-side tag check. */
  messages: MessageExt[];
}

/** Reads a PULL_MESSAGE answer; MQBrokerError for codes other than 0/19/20/21, MQClientError for a malformed one. */
export function readPullResponse(response: RemotingCommand, brokerAddr: string, context: ErrorContext): PullResult {
  const answer = readPullAnswer(response, brokerAddr, context);
  try {
    return { ...answer, messages: answer.status === 'FOUND' ? decodeMessages(response.body) : [] };
  } catch (error) {
    throw new MQClientError(`pull answer does not decode: ${(error as Error).message}`, { ...context, brokerAddr, cause: error, retriable: true });
  }
}
