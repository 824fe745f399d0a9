import {
  CreateTopicRequestHeader, DeleteTopicRequestHeader, GetEarliestMsgStoretimeRequestHeader, GetEarliestMsgStoretimeResponseHeader,
  GetMaxOffsetRequestHeader, GetMinOffsetRequestHeader, OffsetResponseHeader, type RemotingCommand, ResponseCode,
  SearchOffsetRequestHeader, TopicConfigSerializeWrapper, decodeCustomHeader, encodeCustomHeader, responseCommand, topicProblem,
} from '@tern/protocol';
import type { BrokerContext } from '../broker-context.js';
import { AUTO_CREATE_TOPIC_KEY_TOPIC, NOT_ALLOWED_SEND_TOPICS } from '../topic/topic-config-manager.js';

const QUEUE_NUMS_MAX = 1024;

/** UPDATE_AND_CREATE_TOPIC (17): create or update, persist, and register with the name servers before replying. */
export function createTopicProcessor(context: BrokerContext) {
  return async (request: RemotingCommand): Promise<RemotingCommand> => {
    const header = decodeCustomHeader(CreateTopicRequestHeader, request.extFields);
    const problem = topicProblem(header.topic);
    if (problem) return responseCommand(request, ResponseCode.SYSTEM_ERROR, problem);
    if (header.topic === context.config.brokerClusterName || header.topic === AUTO_CREATE_TOPIC_KEY_TOPIC || NOT_ALLOWED_SEND_TOPICS.has(header.topic)) {
      return responseCommand(request, ResponseCode.SYSTEM_ERROR, `The topic[${header.topic}] is conflict with system reserved words.`);
    }
    for (const [name, value] of [['readQueueNums', header.readQueueNums], ['writeQueueNums', header.writeQueueNums]] as const) {
      if (value < 1 || value > QUEUE_NUMS_MAX) return responseCommand(request, ResponseCode.SYSTEM_ERROR, `${name} ${value} must be 1..${QUEUE_NUMS_MAX}`);
    }
    if (header.perm < 0 || header.perm > 7) return responseCommand(request, ResponseCode.SYSTEM_ERROR, `perm ${header.perm} must be 0..7`);
    await context.topics.createOrUpdate({
      topicName: header.topic, readQueueNums: header.readQueueNums, writeQueueNums: header.writeQueueNums, perm: header.perm,
      topicFilterType: header.topicFilterType, topicSysFlag: header.topicSysFlag ?? 0, order: header.order,
    });
    await context.registerWithNameServers();
    return responseCommand(request, ResponseCode.SUCCESS, null);
  };
}

/** DELETE_TOPIC_IN_BROKER (215): forget the topic's config and committed offsets. Stored messages age out by retention. */
export function deleteTopicProcessor(context: BrokerContext) {
  return async (request: RemotingCommand): Promise<RemotingCommand> => {
    const header = decodeCustomHeader(DeleteTopicRequestHeader, request.extFields);
    if (NOT_ALLOWED_SEND_TOPICS.has(header.topic) || header.topic === AUTO_CREATE_TOPIC_KEY_TOPIC) {
      return responseCommand(request, ResponseCode.SYSTEM_ERROR, `The topic[${header.topic}] is a system topic and cannot be deleted`);
    }
    await context.topics.delete(header.topic);
    context.offsets.deleteTopic(header.topic);
    await context.registerWithNameServers();
    return responseCommand(request, ResponseCode.SUCCESS, null);
  };
}

/** GET_ALL_TOPIC_CONFIG (21). */
export function allTopicConfigProcessor(context: BrokerContext) {
  return (request: RemotingCommand): RemotingCommand => {
    const topicConfigTable = Object.fromEntries(context.topics.all().map((t) => [t.topicName, t]));
    return responseCommand(request, ResponseCode.SUCCESS, null, {},
      TopicConfigSerializeWrapper.encode({ topicConfigTable, dataVersion: context.topics.version() }));
  };
}

/** GET_MAX_OFFSET (30), GET_MIN_OFFSET (31), SEARCH_OFFSET_BY_TIMESTAMP (29), GET_EARLIEST_MSG_STORETIME (32). */
export function maxOffsetProcessor(context: BrokerContext) {
  return (request: RemotingCommand): RemotingCommand => {
    const header = decodeCustomHeader(GetMaxOffsetRequestHeader, request.extFields);
    const offset = context.store.getMaxOffsetInQueue(header.topic, header.queueId);
    return responseCommand(request, ResponseCode.SUCCESS, null, encodeCustomHeader(OffsetResponseHeader, { offset }));
  };
}

export function minOffsetProcessor(context: BrokerContext) {
  return (request: RemotingCommand): RemotingCommand => {
    const header = decodeCustomHeader(GetMinOffsetRequestHeader, request.extFields);
    const offset = context.store.getMinOffsetInQueue(header.topic, header.queueId);
    return responseCommand(request, ResponseCode.SUCCESS, null, encodeCustomHeader(OffsetResponseHeader, { offset }));
  };
}

/** The first queue offset stored at or after the timestamp, or the max offset when there is none (documented). */
export function searchOffsetProcessor(context: BrokerContext) {
  return async (request: RemotingCommand): Promise<RemotingCommand> => {
    const header = decodeCustomHeader(SearchOffsetRequestHeader, request.extFields);
    const offset = await context.store.getOffsetInQueueByTime(header.topic, header.queueId, header.timestamp);
    return responseCommand(request, ResponseCode.SUCCESS, null, encodeCustomHeader(OffsetResponseHeader, { offset }));
  };
}

export function earliestMessageTimeProcessor(context: BrokerContext) {
  return async (request: RemotingCommand): Promise<RemotingCommand> => {
    const header = decodeCustomHeader(GetEarliestMsgStoretimeRequestHeader, request.extFields);
    const timestamp = await context.store.getEarliestMessageTime(header.topic, header.queueId);
    return responseCommand(request, ResponseCode.SUCCESS, null, encodeCustomHeader(GetEarliestMsgStoretimeResponseHeader, { timestamp }));
  };
}
