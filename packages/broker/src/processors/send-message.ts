import {
  MessageProperty, MessageSysFlag, NAME_VALUE_SEPARATOR, transactionType, PROPERTY_SEPARATOR, type RemotingCommand, RequestCode, ResponseCode, SendMessageResponseHeader,
  type SendMessageRequestHeader, decodeSendMessageRequestHeader, encodeCustomHeader, responseCommand, topicProblem,
} from '@tern/protocol';
import { BATCH_MEMBER_FIELDS, BatchMemberField, type PutResult } from '@tern/store';
import type { RemotingChannel } from '@tern/remoting';
import type { BrokerContext } from '../broker-context.js';
import { isWriteable } from '../topic/perm.js';
import { DLQ_GROUP_TOPIC_PREFIX, NOT_ALLOWED_SEND_TOPICS, RETRY_GROUP_TOPIC_PREFIX } from '../topic/topic-config-manager.js';
import { decodeBatchMembers } from './batch-body.js';
import { parseRemoteHost } from './remote-host.js';
import { toScheduled } from '../schedule/delay-message.js';

/** The client version from which SEND_MESSAGE's maxReconsumeTimes is honoured (MQVersion V3_4_9). */
const VERSION_V3_4_9 = 121;

/**
 * SEND_MESSAGE (10), SEND_MESSAGE_V2 (310), SEND_BATCH_MESSAGE (320): RocketMQ's SendMessageProcessor checks, then
 * one store put; the response says what durability was reached (SUCCESS only when the flush type's promise holds,
 * FLUSH_DISK_TIMEOUT otherwise).
 */
export function sendMessageProcessor(context: BrokerContext) {
  return async (request: RemotingCommand, channel: RemotingChannel): Promise<RemotingCommand> => {
    const header = decodeSendMessageRequestHeader(request.code, request.extFields);
    const refused = await checkSend(context, request, header);
    if (refused) return refused;
    let topic = header.topic;
    let queueId = header.queueId;
    const topicConfig = context.topics.get(topic)!;
    if (queueId < 0) queueId = Math.floor(Math.random() * topicConfig.writeQueueNums);

    if (topic.startsWith(RETRY_GROUP_TOPIC_PREFIX)) {
      const group = topic.slice(RETRY_GROUP_TOPIC_PREFIX.length);
      const groupConfig = await context.groups.findOrCreate(group);
      if (!groupConfig) return responseCommand(request, ResponseCode.SUBSCRIPTION_GROUP_NOT_EXIST, `subscription group not exist, ${group}`);
      const maxReconsumeTimes = request.version >= VERSION_V3_4_9 && header.maxReconsumeTimes !== undefined
        ? header.maxReconsumeTimes : groupConfig.retryMaxTimes;
      if (header.reconsumeTimes >= maxReconsumeTimes) {
        topic = DLQ_GROUP_TOPIC_PREFIX + group;
        queueId = 0;
        await context.topics.ensure(topic, 1);
        void context.registerWithNameServers();
      }
    }
    const body = request.body ?? Buffer.alloc(0);
    if (body.length > context.config.maxMessageSize) {
      return responseCommand(request, ResponseCode.MESSAGE_ILLEGAL, `the message body size ${body.length} exceeds maxMessageSize ${context.config.maxMessageSize}`);
    }
    const { properties, delayLevel } = rewriteSendProperties(
      header.properties ?? '', context.config.brokerClusterName, topic.startsWith(DLQ_GROUP_TOPIC_PREFIX));
    const bornHost = parseRemoteHost(channel.remoteAddress);
    const base = {
      topic, queueId, sysFlag: header.sysFlag, bornTimestampMs: header.bornTimestamp, bornHost,
      reconsumeTimes: header.reconsumeTimes, preparedTransactionOffset: 0,
    };
    let result: PutResult;
    const transaction = transactionType(header.sysFlag);
    if (delayLevel > 0 && (transaction === MessageSysFlag.TRANSACTION_NOT_TYPE || transaction === MessageSysFlag.TRANSACTION_COMMIT_TYPE)
      && request.code !== RequestCode.SEND_BATCH_MESSAGE && !header.batch) {
      // Delay levels (RocketMQ's schedule): stored in SCHEDULE_TOPIC_XXXX, delivered to the real queue when due.
      const scheduled = toScheduled({ ...base, flag: header.flag, body, properties }, delayLevel, context.delayLevelsMs.length);
      result = await context.store.putMessage(scheduled);
    } else if (request.code === RequestCode.SEND_BATCH_MESSAGE || header.batch) {
      if (topic.startsWith(RETRY_GROUP_TOPIC_PREFIX)) return responseCommand(request, ResponseCode.MESSAGE_ILLEGAL, 'batch message is not supported for retry topics');
      const members = decodeBatchMembers(body);
      for (let m = BatchMemberField.BODY_LENGTH; m < members.length; m += BATCH_MEMBER_FIELDS) {
        if (members[m]! > context.config.maxMessageSize) {
          return responseCommand(request, ResponseCode.MESSAGE_ILLEGAL, `a message body in the batch exceeds maxMessageSize ${context.config.maxMessageSize}`);
        }
      }
      // Each member's properties are stored as sent, followed by the batch's (RocketMQ's CommitLog.encode).
      result = await context.store.putMessageBatch({ ...base, source: body, members, batchProperties: properties });
    } else {
      result = await context.store.putMessage({ ...base, flag: header.flag, body, properties });
    }
    return sendResponse(request, result, queueId);
  };
}

async function checkSend(context: BrokerContext, request: RemotingCommand, header: SendMessageRequestHeader): Promise<RemotingCommand | null> {
  if (!isWriteable(context.config.brokerPermission)) {
    return responseCommand(request, ResponseCode.NO_PERMISSION, `the broker[${context.config.brokerName}] sending message is forbidden`);
  }
  const problem = topicProblem(header.topic);
  if (problem) return responseCommand(request, ResponseCode.SYSTEM_ERROR, problem);
  if (NOT_ALLOWED_SEND_TOPICS.has(header.topic)) {
    return responseCommand(request, ResponseCode.NO_PERMISSION, `Sending message to topic[${header.topic}] is forbidden.`);
  }
  let topicConfig = context.topics.get(header.topic);
  if (!topicConfig) {
    const isRetry = header.topic.startsWith(RETRY_GROUP_TOPIC_PREFIX);
    topicConfig = isRetry
      ? await context.topics.ensure(header.topic, 1)
      : (await context.topics.autoCreate(header.topic, header.defaultTopic, header.defaultTopicQueueNums, 0)) ?? undefined;
    if (!topicConfig) {
      return responseCommand(request, ResponseCode.TOPIC_NOT_EXIST, `topic[${header.topic}] not exist, apply first please!`);
    }
    // Routable at once: the producer asks the name server right after its first send.
    await context.registerWithNameServers();
  }
  if (!isWriteable(topicConfig.perm)) {
    return responseCommand(request, ResponseCode.NO_PERMISSION, `the topic[${header.topic}] sending message is forbidden`);
  }
  const queueNums = Math.max(topicConfig.writeQueueNums, topicConfig.readQueueNums);
  if (header.queueId >= queueNums) {
    return responseCommand(request, ResponseCode.SYSTEM_ERROR,
      `request queueId[${header.queueId}] is illegal, ${header.topic} has ${queueNums} queues, producer: ${request.extFields.a ?? request.extFields.producerGroup ?? ''}`);
  }
  return null;
}

function sendResponse(request: RemotingCommand, result: PutResult, queueId: number): RemotingCommand {
  const ok = (code: number): RemotingCommand => responseCommand(request, code, result.remark ?? null, {
    ...encodeCustomHeader(SendMessageResponseHeader, {
      msgId: result.messageIdList, queueId, queueOffset: result.queueOffset, msgRegion: 'DefaultRegion', traceOn: true,
    }),
  });
  switch (result.status) {
    case 'PUT_OK':
      return ok(ResponseCode.SUCCESS);
    case 'FLUSH_DISK_TIMEOUT':
      return ok(ResponseCode.FLUSH_DISK_TIMEOUT);
    case 'MESSAGE_ILLEGAL':
    case 'PROPERTIES_SIZE_EXCEEDED':
      return responseCommand(request, ResponseCode.MESSAGE_ILLEGAL, result.remark ?? 'the message is illegal');
    case 'SERVICE_NOT_AVAILABLE':
      return responseCommand(request, ResponseCode.SERVICE_NOT_AVAILABLE, `service not available now: ${result.remark ?? ''}`);
    default:
      return responseCommand(request, ResponseCode.SYSTEM_ERROR, result.remark ?? 'UNKNOWN_ERROR');
  }
}

const WAIT_PROPERTY = MessageProperty.WAIT_STORE_MSG_OK + NAME_VALUE_SEPARATOR;

/**
 * The properties string as RocketMQ stores it: WAIT removed (it only steers the broker), CLUSTER set to this
 * broker's cluster. String surgery instead of a decode/encode round trip: this runs for every message.
 */
export function storedProperties(properties: string, clusterName: string): string {
  return rewriteSendProperties(properties, clusterName, false).properties;
}

const DELAY_PROPERTY = MessageProperty.DELAY_TIME_LEVEL + NAME_VALUE_SEPARATOR;
const CLUSTER_PROPERTY = MessageProperty.CLUSTER + NAME_VALUE_SEPARATOR;

/**
 * storedProperties, also reporting the DELAY level found (0 for none) and optionally dropping DELAY (a message
 * diverted to the DLQ: Java resets its delay level). One pass over the string per send.
 */
function rewriteSendProperties(properties: string, clusterName: string, dropDelay: boolean): { properties: string; delayLevel: number } {
  let out = '';
  let delayLevel = 0;
  let start = 0;
  while (start < properties.length) {
    let end = properties.indexOf(PROPERTY_SEPARATOR, start);
    if (end === -1) end = properties.length;
    const item = properties.slice(start, end);
    const nameEnd = item.indexOf(NAME_VALUE_SEPARATOR);
    start = end + 1;
    // Java's parser drops items with an empty name or value; so do we.
    if (nameEnd <= 0 || nameEnd >= item.length - 1 || item.startsWith(WAIT_PROPERTY) || item.startsWith(CLUSTER_PROPERTY)) continue;
    if (item.startsWith(DELAY_PROPERTY)) {
      const level = Number(item.slice(DELAY_PROPERTY.length));
      delayLevel = Number.isInteger(level) && level > 0 ? level : 0;
      if (dropDelay) continue;
    }
    out += (out.length > 0 ? PROPERTY_SEPARATOR : '') + item;
  }
  return { properties: out + (out.length > 0 ? PROPERTY_SEPARATOR : '') + CLUSTER_PROPERTY + clusterName, delayLevel: dropDelay ? 0 : delayLevel };
}
