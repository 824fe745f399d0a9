import {
  PullMessageRequestHeader, PullMessageResponseHeader, type RemotingCommand, ResponseCode, decodeCustomHeader,
  encodeCustomHeader, responseCommand,
} from '@tern/protocol';
import type { GetResult } from '@tern/store';
import type { RemotingChannel } from '@tern/remoting';
import type { BrokerContext } from '../broker-context.js';
import { isReadable } from '../topic/perm.js';
import { SubscriptionParseError, type TagsFilter, buildTagsFilter, tagsFilterFromCodes } from './subscription-filter.js';

/** PullSysFlag bits. */
const PullSysFlag = { COMMIT_OFFSET: 1, SUSPEND: 2, SUBSCRIPTION: 4, CLASS_FILTER: 8 } as const;

const PULL_BYTES_MAX = 4 * 1024 * 1024;
const PULL_MESSAGES_MAX = 1024;

/**
 * PULL_MESSAGE (11): RocketMQ's PullMessageProcessor. A pull that finds nothing new and allows suspending is held
 * (long polling) until a message for its queue is dispatched or its suspend timeout passes, then answered.
 */
export function pullMessageProcessor(context: BrokerContext) {
  return async (request: RemotingCommand, channel: RemotingChannel): Promise<RemotingCommand | null> => {
    const header = decodeCustomHeader(PullMessageRequestHeader, request.extFields);
    const checked = await checkPull(context, request, header);
    if ('response' in checked) return checked.response;
    const { filter } = checked;
    const hasCommitOffset = (header.sysFlag & PullSysFlag.COMMIT_OFFSET) !== 0;
    // Like Java, the commit rides on the first pass only (not on the re-run after a wake-up).
    if (hasCommitOffset && context.config.brokerRole !== 'SLAVE') {
      context.offsets.commit(header.consumerGroup, header.topic, header.queueId, header.commitOffset);
    }
    const response = await runPull(context, request, header, filter);
    const suspend = (header.sysFlag & PullSysFlag.SUSPEND) !== 0 && context.config.longPollingEnable;
    if (response.code !== ResponseCode.PULL_NOT_FOUND || !suspend) return response;

    const holdMs = Math.max(0, header.suspendTimeoutMillis);
    return new Promise<RemotingCommand | null>((resolve) => {
      const wake = (): void => {
        if (channel.closed) return resolve(null);
        runPull(context, request, header, filter).then(resolve, (error: Error) =>
          resolve(responseCommand(request, ResponseCode.SYSTEM_ERROR, error.message)));
      };
      const held = context.pullHold.hold(header.topic, header.queueId, header.queueOffset, holdMs, filter, wake);
      if (!held) resolve(response);
    });
  };
}

type Checked = { response: RemotingCommand } | { filter: TagsFilter };

async function checkPull(context: BrokerContext, request: RemotingCommand, header: PullMessageRequestHeader): Promise<Checked> {
  const refuse = (code: number, remark: string): Checked => ({ response: responseCommand(request, code, remark) });
  if (!isReadable(context.config.brokerPermission)) {
    return refuse(ResponseCode.NO_PERMISSION, `the broker[${context.config.brokerName}] pulling message is forbidden`);
  }
  const group = await context.groups.findOrCreate(header.consumerGroup);
  if (!group) return refuse(ResponseCode.SUBSCRIPTION_GROUP_NOT_EXIST, `subscription group [${header.consumerGroup}] does not exist`);
  if (!group.consumeEnable) return refuse(ResponseCode.NO_PERMISSION, `subscription group no permission, ${header.consumerGroup}`);
  const topic = context.topics.get(header.topic);
  if (!topic) return refuse(ResponseCode.TOPIC_NOT_EXIST, `topic[${header.topic}] not exist, apply first please!`);
  if (!isReadable(topic.perm)) return refuse(ResponseCode.NO_PERMISSION, `the topic[${header.topic}] pulling message is forbidden`);
  if (header.queueId < 0 || header.queueId >= topic.readQueueNums) {
    return refuse(ResponseCode.SYSTEM_ERROR,
      `queueId[${header.queueId}] is illegal, topic:[${header.topic}] topicConfig.readQueueNums:[${topic.readQueueNums}] consumer:[${request.extFields.consumerGroup}]`);
  }
  if (header.maxMsgNums <= 0) return refuse(ResponseCode.SYSTEM_ERROR, `maxMsgNums ${header.maxMsgNums} must be positive`);
  if ((header.sysFlag & PullSysFlag.SUBSCRIPTION) !== 0) {
    if (header.expressionType !== undefined && header.expressionType.toUpperCase() === 'SQL92') {
      return refuse(ResponseCode.SYSTEM_ERROR, context.config.enablePropertyFilter
        ? 'SQL92 filtering is not supported by this Tern version yet'
        : 'The broker does not support consumer to filter message by SQL92');
    }
    try {
      return { filter: buildTagsFilter(header.subscription, header.expressionType) };
    } catch (error) {
      if (error instanceof SubscriptionParseError) return refuse(ResponseCode.SUBSCRIPTION_PARSE_FAILED, error.message);
      throw error;
    }
  }
  const subscription = context.consumers.findSubscription(header.consumerGroup, header.topic);
  if (!subscription) return refuse(ResponseCode.SUBSCRIPTION_NOT_EXIST, `the consumer's subscription not exist, group: ${header.consumerGroup}`);
  if (subscription.subVersion < header.subVersion) {
    return refuse(ResponseCode.SUBSCRIPTION_NOT_LATEST, `the consumer's subscription not latest, group: ${header.consumerGroup}`);
  }
  return { filter: tagsFilterFromCodes(subscription.subString, subscription.codeSet) };
}

async function runPull(context: BrokerContext, request: RemotingCommand, header: PullMessageRequestHeader, filter: TagsFilter): Promise<RemotingCommand> {
  const result = await context.store.getMessage(header.topic, header.queueId, header.queueOffset, Math.min(header.maxMsgNums, PULL_MESSAGES_MAX), {
    maxTotalBytes: PULL_BYTES_MAX, tagsFilter: filter,
  });
  const code = responseCodeFor(result, header.queueOffset);
  const body = result.status === 'FOUND' ? pullBody(result.messages, result.totalSizeBytes) : null;
  return responseCommand(request, code, result.status, encodeCustomHeader(PullMessageResponseHeader, {
    suggestWhichBrokerId: 0, nextBeginOffset: result.nextBeginOffset, minOffset: result.minOffset, maxOffset: result.maxOffset,
  }), body);
}

/**
 * The records back to back. The store reads a pull's records into one buffer in order, so they usually are views
 * of it end to end already: then the body is that range, sent as is, without copying the records again.
 */
function pullBody(messages: readonly Buffer[], totalSizeBytes: number): Buffer {
  const first = messages[0];
  if (first === undefined) return Buffer.alloc(0);
  let end = first.byteOffset + first.length;
  for (let i = 1; i < messages.length; i++) {
    const message = messages[i]!;
    if (message.buffer !== first.buffer || message.byteOffset !== end) return Buffer.concat(messages as Buffer[], totalSizeBytes);
    end += message.length;
  }
  return Buffer.from(first.buffer, first.byteOffset, end - first.byteOffset);
}

function responseCodeFor(result: GetResult, requestedOffset: number): number {
  switch (result.status) {
    case 'FOUND':
      return ResponseCode.SUCCESS;
    case 'NO_MATCHED_LOGIC_QUEUE':
    case 'NO_MESSAGE_IN_QUEUE':
      return requestedOffset !== 0 ? ResponseCode.PULL_OFFSET_MOVED : ResponseCode.PULL_NOT_FOUND;
    case 'OFFSET_FOUND_NULL':
    case 'OFFSET_OVERFLOW_ONE':
      return ResponseCode.PULL_NOT_FOUND;
    case 'OFFSET_OVERFLOW_BADLY':
    case 'OFFSET_TOO_SMALL':
      return ResponseCode.PULL_OFFSET_MOVED;
    case 'NO_MATCHED_MESSAGE':
    case 'MESSAGE_WAS_REMOVING':
      return ResponseCode.PULL_RETRY_IMMEDIATELY;
  }
}
