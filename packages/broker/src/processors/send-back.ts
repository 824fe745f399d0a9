import {
  ConsumerSendMsgBackRequestHeader, MessageProperty, type RemotingCommand, ResponseCode, createOffsetMessageId,
  decodeCustomHeader, decodeMessageRecord, decodeProperties, encodeProperties, responseCommand,
} from '@tern/protocol';
import type { BrokerContext } from '../broker-context.js';
import { DLQ_GROUP_TOPIC_PREFIX, RETRY_GROUP_TOPIC_PREFIX } from '../topic/topic-config-manager.js';
import { toScheduled } from '../schedule/delay-message.js';

/** The client version from which the header's maxReconsumeTimes is honoured (MQVersion V3_4_9). */
const VERSION_V3_4_9 = 121;

/*
 * CONSUMER_SEND_MSG_BACK (36): a concurrently consumed message failed; RocketMQ's consumerSendMsgBack.
 * Inputs: the failed message's CommitLog offset, the group, the requested delay level (0 = broker decides).
 * Outcomes:
 * - reconsumeTimes < maxReconsumeTimes: a copy goes to %RETRY%<group> through SCHEDULE_TOPIC_XXXX at delay level
 *   (requested, or 3 + reconsumeTimes), with reconsumeTimes + 1;
 * - reconsumeTimes ≥ maxReconsumeTimes, or a negative delay level: the copy goes to %DLQ%<group> queue 0 at once.
 * Either way RETRY_TOPIC keeps the original topic and ORIGIN_MESSAGE_ID the original id; body, flag, born time and
 * host are kept. Writes: one record (plus, later, its delivery from the schedule topic).
 */
export function sendBackProcessor(context: BrokerContext) {
  return async (request: RemotingCommand): Promise<RemotingCommand> => {
    const header = decodeCustomHeader(ConsumerSendMsgBackRequestHeader, request.extFields);
    const group = await context.groups.findOrCreate(header.group);
    if (!group) return responseCommand(request, ResponseCode.SUBSCRIPTION_GROUP_NOT_EXIST, `subscription group not exist, ${header.group}`);
    if (group.retryQueueNums <= 0) return responseCommand(request, ResponseCode.SUCCESS, null);
    const stored = await context.store.lookMessageByOffset(header.offset);
    if (!stored) return responseCommand(request, ResponseCode.SYSTEM_ERROR, `look message by offset failed to check, offset: ${header.offset}`);
    const original = decodeMessageRecord(stored);
    const properties = decodeProperties(original.properties);
    if (!properties.has(MessageProperty.RETRY_TOPIC)) properties.set(MessageProperty.RETRY_TOPIC, original.topic);
    if (!properties.has(MessageProperty.ORIGIN_MESSAGE_ID)) {
      // RocketMQ ignores the header's originMsgId: the original record's offset message id is what retries carry.
      properties.set(MessageProperty.ORIGIN_MESSAGE_ID, createOffsetMessageId(original.storeHost, original.physicalOffset));
    }
    properties.delete(MessageProperty.DELAY_TIME_LEVEL);
    const maxReconsumeTimes = request.version >= VERSION_V3_4_9 && header.maxReconsumeTimes !== undefined
      ? header.maxReconsumeTimes : group.retryMaxTimes;

    const toDeadLetter = original.reconsumeTimes >= maxReconsumeTimes || header.delayLevel < 0;
    let topic: string;
    let queueId: number;
    if (toDeadLetter) {
      topic = DLQ_GROUP_TOPIC_PREFIX + header.group;
      queueId = 0;
      if (!context.topics.get(topic)) {
        await context.topics.ensure(topic, 1);
        await context.registerWithNameServers();
      }
    } else {
      topic = RETRY_GROUP_TOPIC_PREFIX + header.group;
      if (!context.topics.get(topic)) {
        await context.topics.ensure(topic, group.retryQueueNums);
        await context.registerWithNameServers();
      }
      queueId = Math.floor(Math.random() * group.retryQueueNums);
    }
    let message = {
      topic, queueId, flag: original.flag, body: original.body, properties: encodeProperties(properties), sysFlag: original.sysFlag,
      bornTimestampMs: original.bornTimestampMs, bornHost: original.bornHost, reconsumeTimes: original.reconsumeTimes + 1,
      preparedTransactionOffset: original.preparedTransactionOffset,
    };
    if (!toDeadLetter) {
      const level = header.delayLevel > 0 ? header.delayLevel : 3 + original.reconsumeTimes;
      message = toScheduled(message, level, context.delayLevelsMs.length);
    }
    const put = await context.store.putMessage(message);
    if (put.status === 'PUT_OK') return responseCommand(request, ResponseCode.SUCCESS, null);
    return responseCommand(request, ResponseCode.SYSTEM_ERROR, `${put.status}: ${put.remark ?? ''}`);
  };
}
