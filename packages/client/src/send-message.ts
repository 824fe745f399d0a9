import { deflateSync } from 'node:zlib';
import {
  MessageProperty, MessageSysFlag, PROPERTIES_MAX_BYTES, type MessageQueue, type RemotingCommand, RequestCode, ResponseCode, SendMessageResponseHeader,
  createUniqKeyGenerator, decodeCustomHeader, encodeProperties, encodeSendMessageRequestHeader, requestCommand, type UniqKeyGenerator,
} from '@tern/protocol';
import { type ErrorContext, InvalidMessageError, MQBrokerError, MQClientError } from './errors.js';
import { encodeBatchMessages } from './message-batch.js';
import { Message, RETRY_GROUP_TOPIC_PREFIX, validateMessage } from './message.js';

/*
 * What goes on the wire for a send (DefaultMQProducerImpl.sendKernelImpl + MQClientAPIImpl.sendMessage /
 * processSendResponse), kept apart from the retry and queue-choice logic of the Producer.
 *
 * SEND_MESSAGE_V2 (310) / SEND_BATCH_MESSAGE (320) header, as a Java 4.9 producer fills SendMessageRequestHeader:
 *   a producerGroup  b topic  c defaultTopic (createTopicKey, TBW102)  d defaultTopicQueueNums  e queueId
 *   f sysFlag (COMPRESSED, TRANSACTION_PREPARED)  g bornTimestamp (per attempt)  h flag  i properties
 *   j reconsumeTimes (0, or RECONSUME_TIME for %RETRY% topics)  k unitMode (false)
 *   l maxReconsumeTimes (only for %RETRY% topics with MAX_RECONSUME_TIMES)  m batch
 */

export type SendStatus = 'SEND_OK' | 'FLUSH_DISK_TIMEOUT' | 'FLUSH_SLAVE_TIMEOUT' | 'SLAVE_NOT_AVAILABLE';

/** A stored message (RocketMQ's SendResult). Codes 10/11/12 are stored too, with a weaker durability. */
export interface SendResult {
  sendStatus: SendStatus;
  /** The message's UNIQ_KEY (for a batch: every message's, comma-separated), what Java shows as msgId. */
  msgId: string;
  /** The broker's offset message id (for a batch: comma-separated). */
  offsetMsgId: string;
  messageQueue: MessageQueue;
  /** The ConsumeQueue offset of the (first) message. */
  queueOffset: number;
  transactionId?: string;
  /** MSG_REGION as the broker answered it. */
  regionId?: string;
  /** TRACE_ON as the broker answered it. */
  traceOn?: boolean;
}

const SEND_STATUS_BY_CODE: ReadonlyMap<number, SendStatus> = new Map<number, SendStatus>([
  [ResponseCode.SUCCESS, 'SEND_OK'],
  [ResponseCode.FLUSH_DISK_TIMEOUT, 'FLUSH_DISK_TIMEOUT'],
  [ResponseCode.FLUSH_SLAVE_TIMEOUT, 'FLUSH_SLAVE_TIMEOUT'],
  [ResponseCode.SLAVE_NOT_AVAILABLE, 'SLAVE_NOT_AVAILABLE'],
]);

/** A message (or batch) ready to send: validated, UNIQ_KEY set, compressed if large. The same for every attempt. */
export interface PreparedSend {
  topic: string;
  body: Buffer;
  flag: number;
  sysFlag: number;
  /** Encoded properties for header `i`. */
  properties: string;
  batch: boolean;
  /** UNIQ_KEY(s), comma-joined for a batch. */
  uniqMsgId: string;
  reconsumeTimes: number;
  maxReconsumeTimes: number | null;
  /** The message as the application gave it (first of a batch), for selectors. */
  message: Message;
}

export interface PrepareSettings {
  maxMessageSize: number;
  compressMsgBodyOverHowmuch: number;
  compressLevel: number;
}

let uniqKeys: UniqKeyGenerator | null = null;

/** The process-wide UNIQ_KEY generator (Java's MessageClientIDSetter is static too). */
export function nextUniqKey(): string {
  uniqKeys ??= createUniqKeyGenerator();
  return uniqKeys.next();
}

/**
 * Validates one message and prepares it: UNIQ_KEY added (kept if the message carries one, as Java's setUniqID),
 * body deflated (zlib, sysFlag COMPRESSED) at compressMsgBodyOverHowmuch bytes or more, TRAN_MSG → PREPARED, and
 * RECONSUME_TIME / MAX_RECONSUME_TIMES moved into the header for %RETRY% topics. Throws InvalidMessageError.
 */
export function prepareMessage(message: Message, settings: PrepareSettings): PreparedSend {
  validateMessage(message, settings.maxMessageSize);
  const properties = message.propertyMap();
  const uniqKeyName = MessageProperty.UNIQ_CLIENT_MESSAGE_ID_KEYIDX;
  if (!properties.has(uniqKeyName)) properties.set(uniqKeyName, nextUniqKey());
  let sysFlag = 0;
  let body = message.body;
  if (body.length >= settings.compressMsgBodyOverHowmuch) {
    body = deflateSync(body, { level: settings.compressLevel });
    sysFlag |= MessageSysFlag.COMPRESSED;
  }
  if (properties.get(MessageProperty.TRANSACTION_PREPARED) === 'true') sysFlag |= MessageSysFlag.TRANSACTION_PREPARED_TYPE;
  let reconsumeTimes = 0;
  let maxReconsumeTimes: number | null = null;
  if (message.topic.startsWith(RETRY_GROUP_TOPIC_PREFIX)) {
    reconsumeTimes = takeIntProperty(properties, MessageProperty.RECONSUME_TIME, message.topic) ?? 0;
    maxReconsumeTimes = takeIntProperty(properties, MessageProperty.MAX_RECONSUME_TIMES, message.topic);
  }
  return {
    topic: message.topic, body, flag: message.flag, sysFlag, properties: checkedProperties(properties, 'properties', message.topic), batch: false,
    uniqMsgId: properties.get(uniqKeyName)!, reconsumeTimes, maxReconsumeTimes, message,
  };
}

/** Encodes properties, refusing more than RocketMQ's 32767 bytes (UNIQ_KEY included). */
function checkedProperties(properties: ReadonlyMap<string, string>, property: string, topic: string): string {
  const text = encodeProperties(properties);
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > PROPERTIES_MAX_BYTES) {
    throw new InvalidMessageError(property, `the encoded properties take ${bytes} bytes, more than ${PROPERTIES_MAX_BYTES}`, { topic });
  }
  return text;
}

function takeIntProperty(properties: Map<string, string>, name: string, topic: string): number | null {
  const raw = properties.get(name);
  if (raw === undefined) return null;
  properties.delete(name);
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0 || value > 0x7fffffff) throw new InvalidMessageError(`properties.${name}`, `not an int32: ${raw}`, { topic });
  return value;
}

/**
 * Validates a batch and prepares one SEND_BATCH_MESSAGE (DefaultMQProducer.batch + MessageBatch.generateFromList):
 * at least one message, one topic, no delay level, not a %RETRY% topic, one waitStoreMsgOK; every message valid and
 * given its own UNIQ_KEY; the encoded body within maxMessageSize. Batches are never compressed (as in Java). The
 * batch's own properties (header `i`) carry WAIT only; unlike Java the batch gets no UNIQ_KEY of its own, because the
 * broker appends the batch properties to every message and a second UNIQ_KEY would shadow each message's.
 */
export function prepareBatch(messages: readonly Message[], settings: PrepareSettings): PreparedSend {
  if (!Array.isArray(messages) || messages.length === 0) throw new InvalidMessageError('messages', 'a batch needs at least one message');
  const first = messages[0]!;
  if (!(first instanceof Message)) throw new InvalidMessageError('messages[0]', 'must be a Message');
  const topic = first.topic;
  if (topic.startsWith(RETRY_GROUP_TOPIC_PREFIX)) throw new InvalidMessageError('topic', 'retry group topics are not supported for batching', { topic });
  const uniqKeys: string[] = [];
  const entries = messages.map((message, i) => {
    if (!(message instanceof Message)) throw new InvalidMessageError(`messages[${i}]`, 'must be a Message', { topic });
    validateMessage(message, settings.maxMessageSize);
    if (message.topic !== topic) {
      throw new InvalidMessageError(`messages[${i}].topic`, `the topic of the messages in one batch should be the same (${topic})`, { topic });
    }
    if (message.delayTimeLevel > 0) {
      throw new InvalidMessageError(`messages[${i}].delayTimeLevel`, 'delay levels are not supported for batching', { topic });
    }
    if (message.waitStoreMsgOK !== first.waitStoreMsgOK) {
      throw new InvalidMessageError(`messages[${i}].waitStoreMsgOK`, 'the waitStoreMsgOK of the messages in one batch should be the same', { topic });
    }
    const properties = message.propertyMap();
    const name = MessageProperty.UNIQ_CLIENT_MESSAGE_ID_KEYIDX;
    if (!properties.has(name)) properties.set(name, nextUniqKey());
    uniqKeys.push(properties.get(name)!);
    return { flag: message.flag, body: message.body, properties: checkedProperties(properties, `messages[${i}].properties`, topic) };
  });
  const body = encodeBatchMessages(entries);
  if (body.length > settings.maxMessageSize) {
    throw new InvalidMessageError('messages', `the batch body size ${body.length} is over the max value ${settings.maxMessageSize}`, { topic });
  }
  const properties = encodeProperties(new Map([[MessageProperty.WAIT_STORE_MSG_OK, String(first.waitStoreMsgOK)]]));
  return {
    topic, body, flag: 0, sysFlag: 0, properties, batch: true, uniqMsgId: uniqKeys.join(','), reconsumeTimes: 0,
    maxReconsumeTimes: null, message: first,
  };
}

export interface SendRequestSettings {
  producerGroup: string;
  createTopicKey: string;
  defaultTopicQueueNums: number;
}

/** The SEND_MESSAGE_V2 (or SEND_BATCH_MESSAGE) request for one attempt at `queue`. */
export function buildSendRequest(prepared: PreparedSend, queue: MessageQueue, settings: SendRequestSettings): RemotingCommand {
  const code = prepared.batch ? RequestCode.SEND_BATCH_MESSAGE : RequestCode.SEND_MESSAGE_V2;
  const header = encodeSendMessageRequestHeader(code, {
    producerGroup: settings.producerGroup,
    topic: prepared.topic,
    defaultTopic: settings.createTopicKey,
    defaultTopicQueueNums: settings.defaultTopicQueueNums,
    queueId: queue.queueId,
    sysFlag: prepared.sysFlag,
    bornTimestamp: Date.now(),
    flag: prepared.flag,
    properties: prepared.properties,
    reconsumeTimes: prepared.reconsumeTimes,
    unitMode: false,
    maxReconsumeTimes: prepared.maxReconsumeTimes,
    batch: prepared.batch,
  });
  return requestCommand(code, header, prepared.body);
}

/**
 * Reads a send answer (processSendResponse): 0/10/11/12 → SendResult with the matching status; any other code →
 * MQBrokerError with the broker's code and remark. A stored answer with a malformed header is an MQClientError.
 */
export function readSendResponse(response: RemotingCommand, prepared: PreparedSend, queue: MessageQueue, brokerAddr: string,
  context: ErrorContext): SendResult {
  const sendStatus = SEND_STATUS_BY_CODE.get(response.code);
  if (sendStatus === undefined) throw new MQBrokerError(response.code, response.remark, brokerAddr, context);
  let header: SendMessageResponseHeader;
  try {
    header = decodeCustomHeader(SendMessageResponseHeader, response.extFields);
  } catch (error) {
    throw new MQClientError(`send answer ${response.code} has a bad header: ${(error as Error).message}`, {
      ...context, brokerAddr, code: response.code, cause: error, retriable: false,
    });
  }
  const result: SendResult = {
    sendStatus,
    msgId: prepared.uniqMsgId,
    offsetMsgId: header.msgId,
    messageQueue: { topic: prepared.topic, brokerName: queue.brokerName, queueId: header.queueId },
    queueOffset: header.queueOffset,
  };
  if (header.transactionId !== undefined) result.transactionId = header.transactionId;
  if (header.msgRegion !== undefined) result.regionId = header.msgRegion;
  if (header.traceOn !== undefined) result.traceOn = header.traceOn;
  return result;
}
