import { deflateSync } from 'node:zlib';
import {
  MessageProperty, MessageSysFlag, NAME_VALUE_SEPARATOR, PROPERTIES_MAX_BYTES, PROPERTY_SEPARATOR, type MessageQueue, type RemotingCommand,
  RequestCode, ResponseCode, SendMessageResponseHeader, UNIQ_KEY_CHARS_IPV4, createUniqKeyGenerator, decodeCustomHeader, encodeProperties,
  encodeSendMessageRequestHeader, requestCommand, type UniqKeyGenerator,
} from '@tern/protocol';
import { type ErrorContext, InvalidMessageError, MQBrokerError, MQClientError } from './errors.js';
import { BATCH_ENTRY_FIXED_BYTES, BatchBodyWriter } from './message-batch.js';
import { Message, RETRY_GROUP_TOPIC_PREFIX, encodedMessageProperties, validateMessage } from './message.js';

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
  /** Every message's UNIQ_KEY, in order (one for a single message). */
  uniqMsgIds: readonly string[];
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

let uniqKeyGenerator: UniqKeyGenerator | null = null;

/** The process-wide UNIQ_KEY generator (Java's MessageClientIDSetter is static too). */
export function nextUniqKey(): string {
  uniqKeyGenerator ??= createUniqKeyGenerator();
  return uniqKeyGenerator.next();
}

/** `nextUniqKey()`, also written as UNIQ_KEY_CHARS_IPV4 ASCII bytes at `target[at]`. */
function nextUniqKeyInto(target: Uint8Array, at: number): string {
  uniqKeyGenerator ??= createUniqKeyGenerator();
  return uniqKeyGenerator.nextInto(target, at);
}

/** What the producer appends to a message's properties: the UNIQ_KEY entry, before the id itself (ASCII). */
const UNIQ_KEY_ENTRY_PREFIX = PROPERTY_SEPARATOR + MessageProperty.UNIQ_CLIENT_MESSAGE_ID_KEYIDX + NAME_VALUE_SEPARATOR;
/** The bytes of a whole UNIQ_KEY entry this process makes. */
const UNIQ_KEY_ENTRY_BYTES = UNIQ_KEY_ENTRY_PREFIX.length + UNIQ_KEY_CHARS_IPV4;

/** The properties a message is sent with and its UNIQ_KEY. */
interface SendProperties {
  text: string;
  uniqMsgId: string;
  sysFlag: number;
  reconsumeTimes: number;
  maxReconsumeTimes: number | null;
}

/**
 * The properties of `message` as sent: its own, plus a new UNIQ_KEY unless it carries one (Java's setUniqID). A
 * message without system properties (every message applications build) is encoded as text directly; one with system
 * properties goes through its map: TRAN_MSG → PREPARED, and RECONSUME_TIME / MAX_RECONSUME_TIMES moved into the
 * header for %RETRY% topics.
 */
function sendProperties(message: Message): SendProperties {
  const text = encodedMessageProperties(message);
  if (text !== null) {
    const uniqMsgId = nextUniqKey();
    return { text: text + UNIQ_KEY_ENTRY_PREFIX + uniqMsgId, uniqMsgId, sysFlag: 0, reconsumeTimes: 0, maxReconsumeTimes: null };
  }
  const properties = message.propertyMap();
  const uniqKeyName = MessageProperty.UNIQ_CLIENT_MESSAGE_ID_KEYIDX;
  if (!properties.has(uniqKeyName)) properties.set(uniqKeyName, nextUniqKey());
  const sysFlag = properties.get(MessageProperty.TRANSACTION_PREPARED) === 'true' ? MessageSysFlag.TRANSACTION_PREPARED_TYPE : 0;
  let reconsumeTimes = 0;
  let maxReconsumeTimes: number | null = null;
  if (message.topic.startsWith(RETRY_GROUP_TOPIC_PREFIX)) {
    reconsumeTimes = takeIntProperty(properties, MessageProperty.RECONSUME_TIME, message.topic) ?? 0;
    maxReconsumeTimes = takeIntProperty(properties, MessageProperty.MAX_RECONSUME_TIMES, message.topic);
  }
  return { text: encodeProperties(properties), uniqMsgId: properties.get(uniqKeyName)!, sysFlag, reconsumeTimes, maxReconsumeTimes };
}

/**
 * Validates one message and prepares it: UNIQ_KEY added (kept if the message carries one, as Java's setUniqID), body
 * deflated (zlib, sysFlag COMPRESSED) at compressMsgBodyOverHowmuch bytes or more, TRAN_MSG → PREPARED, and
 * RECONSUME_TIME / MAX_RECONSUME_TIMES moved into the header for %RETRY% topics. Throws InvalidMessageError.
 */
export function prepareMessage(message: Message, settings: PrepareSettings): PreparedSend {
  validateMessage(message, settings.maxMessageSize);
  const sent = sendProperties(message);
  checkPropertiesSize(Buffer.byteLength(sent.text, 'utf8'), 'properties', message.topic);
  let sysFlag = sent.sysFlag;
  let body = message.body;
  if (body.length >= settings.compressMsgBodyOverHowmuch) {
    body = deflateSync(body, { level: settings.compressLevel });
    sysFlag |= MessageSysFlag.COMPRESSED;
  }
  return {
    topic: message.topic, body, flag: message.flag, sysFlag, properties: sent.text, batch: false, uniqMsgId: sent.uniqMsgId,
    uniqMsgIds: [sent.uniqMsgId], reconsumeTimes: sent.reconsumeTimes, maxReconsumeTimes: sent.maxReconsumeTimes, message,
  };
}

/** Refuses encoded properties over RocketMQ's 32767 bytes (UNIQ_KEY included). */
function checkPropertiesSize(bytes: number, property: string, topic: string): void {
  if (bytes > PROPERTIES_MAX_BYTES) {
    throw new InvalidMessageError(property, `the encoded properties take ${bytes} bytes, more than ${PROPERTIES_MAX_BYTES}`, { topic });
  }
}

function takeIntProperty(properties: Map<string, string>, name: string, topic: string): number | null {
  const raw = properties.get(name);
  if (raw === undefined) return null;
  properties.delete(name);
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0 || value > 0x7fffffff) throw new InvalidMessageError(`properties.${name}`, `not an int32: ${raw}`, { topic });
  return value;
}

/** The batch's own properties (header `i`): WAIT only. */
const BATCH_PROPERTIES_WAIT_TRUE = MessageProperty.WAIT_STORE_MSG_OK + NAME_VALUE_SEPARATOR + 'true';
const BATCH_PROPERTIES_WAIT_FALSE = MessageProperty.WAIT_STORE_MSG_OK + NAME_VALUE_SEPARATOR + 'false';

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
  // First pass: check every message and size its entry. A message without system properties is sent with its own
  // properties text followed by a new UNIQ_KEY entry, written straight into the body by the second pass; one with
  // system properties is encoded here, UNIQ_KEY included (kept if it has one).
  const count = messages.length;
  const uniqKeys = new Array<string>(count);
  const texts = new Array<string>(count);
  const textBytes = new Array<number>(count);
  let total = 0;
  for (let i = 0; i < count; i++) {
    const message = checkBatchMember(messages[i], i, first, settings);
    let text = encodedMessageProperties(message);
    let propertiesBytes: number;
    if (text !== null) {
      textBytes[i] = Buffer.byteLength(text, 'utf8');
      propertiesBytes = textBytes[i]! + UNIQ_KEY_ENTRY_BYTES;
    } else {
      const sent = sendProperties(message);
      text = sent.text;
      uniqKeys[i] = sent.uniqMsgId;
      propertiesBytes = textBytes[i] = Buffer.byteLength(text, 'utf8');
    }
    texts[i] = text;
    checkPropertiesSize(propertiesBytes, `messages[${i}].properties`, topic);
    total += BATCH_ENTRY_FIXED_BYTES + message.body.length + propertiesBytes;
  }
  if (total > settings.maxMessageSize) {
    throw new InvalidMessageError('messages', `the batch body size ${total} is over the max value ${settings.maxMessageSize}`, { topic });
  }
  const body = writeBatchBody(messages, texts, textBytes, uniqKeys, total);
  return {
    topic, body, flag: 0, sysFlag: 0, properties: first.waitStoreMsgOK ? BATCH_PROPERTIES_WAIT_TRUE : BATCH_PROPERTIES_WAIT_FALSE, batch: true,
    uniqMsgId: uniqKeys.join(','), uniqMsgIds: uniqKeys, reconsumeTimes: 0, maxReconsumeTimes: null, message: first,
  };
}

/** Message `i` of a batch whose first message is `first`, checked: valid, same topic and waitStoreMsgOK, no delay. */
function checkBatchMember(message: unknown, i: number, first: Message, settings: PrepareSettings): Message {
  const topic = first.topic;
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
  return message;
}

/**
 * prepareBatch's second pass: the SEND_BATCH_MESSAGE body of `totalBytes`. Each message's properties are `texts[i]`
 * (`textBytes[i]` bytes), followed, where `uniqKeys[i]` is still unset, by a UNIQ_KEY entry with a new id written
 * straight into the body and recorded in `uniqKeys`.
 */
function writeBatchBody(messages: readonly Message[], texts: readonly string[], textBytes: readonly number[], uniqKeys: string[],
  totalBytes: number): Buffer {
  const writer = new BatchBodyWriter(totalBytes);
  for (let i = 0; i < messages.length; i++) {
    const message = messages[i]!;
    const bytes = textBytes[i]!;
    const withUniqKey = uniqKeys[i] === undefined;
    let at = writer.beginEntry(message.flag, message.body, withUniqKey ? bytes + UNIQ_KEY_ENTRY_BYTES : bytes);
    at = writer.writeText(texts[i]!, at, bytes);
    if (withUniqKey) {
      at = writer.writeText(UNIQ_KEY_ENTRY_PREFIX, at, UNIQ_KEY_ENTRY_PREFIX.length);
      uniqKeys[i] = nextUniqKeyInto(writer.body, at);
      writer.wrote(at + UNIQ_KEY_CHARS_IPV4);
    }
  }
  return writer.finish();
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
