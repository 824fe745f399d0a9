import { inflateSync } from 'node:zlib';
import { MiB, ProtocolError } from '@tern/common';
import {
  KEY_SEPARATOR, MessageProperty, MessageSysFlag, NAME_VALUE_SEPARATOR, PROPERTIES_MAX_BYTES, PROPERTY_SEPARATOR,
  RECORD_FIXED_BYTES_IPV4, RecordField, decodePropertiesToObject, encodeProperties, formatHostAddress, readInt64, recordLayout, topicProblem,
} from '@tern/protocol';
import { InvalidMessageError } from './errors.js';

/*
 * Messages as applications build them (Message) and as consumers receive them (MessageExt), after RocketMQ's
 * org.apache.rocketmq.common.message.Message / MessageExt.
 */

/** RocketMQ's default maxMessageSize: the largest body a producer sends (and a broker accepts). */
export const MESSAGE_SIZE_MAX_BYTES_DEFAULT = 4 * MiB;

/** RocketMQ's TBW102 (MixAll.AUTO_CREATE_TOPIC_KEY_TOPIC): the template for auto-created topics, never sent to. */
export const AUTO_CREATE_TOPIC_KEY_TOPIC = 'TBW102';

/** Topics a producer may not send to (TopicValidator.NOT_ALLOWED_SEND_TOPIC_SET). */
export const NOT_ALLOWED_SEND_TOPICS: ReadonlySet<string> = new Set([
  'SCHEDULE_TOPIC_XXXX', 'RMQ_SYS_TRANS_HALF_TOPIC', 'RMQ_SYS_TRANS_OP_HALF_TOPIC', 'TRANS_CHECK_MAX_TIME_TOPIC',
  'SELF_TEST_TOPIC', 'OFFSET_MOVED_EVENT',
]);

/** `%RETRY%<group>`: a consumer group's retry topic. */
export const RETRY_GROUP_TOPIC_PREFIX = '%RETRY%';

/** Property names the client and broker own (MessageConst.STRING_HASH_SET): user properties may not use them. */
export const RESERVED_PROPERTY_NAMES: ReadonlySet<string> = new Set<string>(Object.values(MessageProperty));

export type MessageBody = Buffer | Uint8Array | string;

export interface MessageOptions {
  /** One tag (consumers filter on it). */
  tags?: string;
  /** Business keys, indexed by the broker (QUERY_MESSAGE). A string may hold several keys separated by spaces. */
  keys?: string | readonly string[];
  /** User properties; names RocketMQ reserves (TAGS, KEYS, UNIQ_KEY, DELAY, ...) are rejected. */
  properties?: Readonly<Record<string, string>>;
  /** Delay level (1 = 1 s, 2 = 5 s, 3 = 10 s, ... 18 = 2 h); 0 = deliver at once. @defaultValue 0 */
  delayTimeLevel?: number;
  /** The user flag (an int32 stored with the message). @defaultValue 0 */
  flag?: number;
  /** Ask the broker to answer only once the message is stored (property WAIT). @defaultValue true */
  waitStoreMsgOK?: boolean;
}

export interface MessageInit extends MessageOptions {
  topic: string;
  /** A string is sent as UTF-8. */
  body: MessageBody;
}

/** The keys and properties of every message given none: shared, frozen, and recognised by identity. */
const NO_KEYS: readonly string[] = Object.freeze([]);
const NO_PROPERTIES: Readonly<Record<string, string>> = Object.freeze({});

/** Reads a message's system properties (set by `Message.withSystemProperties`); bound in the class's static block. */
let systemPropertiesOf: (message: Message) => ReadonlyMap<string, string> | undefined;

/**
 * A message to send (RocketMQ's Message). Its fields are read-only. The constructor checks the shape of every field (types, tags
 * and keys without separator characters, user properties not reserved, delay level and flag in range) and throws
 * InvalidMessageError; the rules that depend on the producer (topic, body size) are checked by `validateMessage`,
 * which every send runs before anything leaves the process.
 */
export class Message {
  readonly topic: string;
  readonly body: Buffer;
  readonly tags: string | undefined;
  readonly keys: readonly string[];
  readonly properties: Readonly<Record<string, string>>;
  readonly delayTimeLevel: number;
  readonly flag: number;
  readonly waitStoreMsgOK: boolean;
  /** Set by `withSystemProperties` only; a private field keeps it outside the public shape. */
  #systemProperties: ReadonlyMap<string, string> | undefined = undefined;

  static {
    systemPropertiesOf = (message) => message.#systemProperties;
  }

  constructor(init: MessageInit);
  constructor(topic: string, body: MessageBody, options?: MessageOptions);
  constructor(topicOrInit: string | MessageInit, body?: MessageBody, options?: MessageOptions) {
    // No merged copy of the arguments: the fields are read from whichever object holds them (most sends pass none).
    let topic: unknown;
    let fields: MessageOptions | undefined;
    if (typeof topicOrInit === 'object' && topicOrInit !== null) {
      topic = topicOrInit.topic;
      body = topicOrInit.body;
      fields = topicOrInit;
    } else {
      topic = topicOrInit;
      fields = options ?? undefined;
    }
    if (typeof topic !== 'string') throw new InvalidMessageError('topic', `must be a string, got ${typeof topic}`);
    this.topic = topic;
    this.body = bodyBuffer(body, topic);
    if (fields === undefined) {
      this.tags = undefined;
      this.keys = NO_KEYS;
      this.properties = NO_PROPERTIES;
      this.delayTimeLevel = 0;
      this.flag = 0;
      this.waitStoreMsgOK = true;
      return;
    }
    this.tags = checkTags(fields.tags, topic);
    this.keys = checkKeys(fields.keys, topic);
    this.properties = checkUserProperties(fields.properties, topic);
    this.delayTimeLevel = checkInteger('delayTimeLevel', fields.delayTimeLevel ?? 0, 0, 0x7fffffff, topic);
    this.flag = checkInteger('flag', fields.flag ?? 0, -0x80000000, 0x7fffffff, topic);
    if (fields.waitStoreMsgOK !== undefined && typeof fields.waitStoreMsgOK !== 'boolean') {
      throw new InvalidMessageError('waitStoreMsgOK', 'must be a boolean', { topic });
    }
    this.waitStoreMsgOK = fields.waitStoreMsgOK ?? true;
  }

  /**
   * For client internals (consumers re-sending a message to its retry topic, transaction producers): a message
   * whose properties are exactly `properties`, system names included (Java's MessageAccessor). No TAGS, KEYS, WAIT
   * or DELAY are added; `properties` must hold them if wanted.
   */
  static withSystemProperties(topic: string, body: MessageBody, properties: ReadonlyMap<string, string> | Readonly<Record<string, string>>,
    flag = 0): Message {
    const message = new Message(topic, body, { flag });
    const map = properties instanceof Map ? new Map(properties) : new Map(Object.entries(properties));
    for (const [name, value] of map) checkPropertyText(`properties.${name}`, name, value, topic);
    message.#systemProperties = map;
    return message;
  }

  /** The body as UTF-8 text. */
  bodyText(): string {
    return this.body.toString('utf8');
  }

  /**
   * Every property as sent (before the producer adds UNIQ_KEY): user properties, then TAGS, KEYS, DELAY and WAIT as
   * Java's Message sets them (WAIT is always present, "true" unless waitStoreMsgOK is false).
   */
  propertyMap(): Map<string, string> {
    const system = this.#systemProperties;
    if (system !== undefined) return new Map(system);
    const map = new Map(Object.entries(this.properties));
    if (this.tags !== undefined) map.set(MessageProperty.TAGS, this.tags);
    if (this.keys.length > 0) map.set(MessageProperty.KEYS, this.keys.join(KEY_SEPARATOR));
    if (this.delayTimeLevel > 0) map.set(MessageProperty.DELAY_TIME_LEVEL, String(this.delayTimeLevel));
    map.set(MessageProperty.WAIT_STORE_MSG_OK, String(this.waitStoreMsgOK));
    return map;
  }
}

const WAIT_TRUE_TEXT = MessageProperty.WAIT_STORE_MSG_OK + NAME_VALUE_SEPARATOR + 'true';
const WAIT_FALSE_TEXT = MessageProperty.WAIT_STORE_MSG_OK + NAME_VALUE_SEPARATOR + 'false';

/**
 * `encodeProperties(message.propertyMap())` built straight as text, for the send path (no Map, no entry arrays):
 * null for a message carrying system properties, whose map the caller must inspect. Every name and value was
 * checked by the constructor (non-empty, no separators, user names not reserved), so nothing is dropped or repeated.
 */
export function encodedMessageProperties(message: Message): string | null {
  if (systemPropertiesOf(message) !== undefined) return null;
  let text = '';
  const properties = message.properties;
  if (properties !== NO_PROPERTIES) {
    for (const name of Object.keys(properties)) text += name + NAME_VALUE_SEPARATOR + properties[name]! + PROPERTY_SEPARATOR;
  }
  if (message.tags !== undefined) text += MessageProperty.TAGS + NAME_VALUE_SEPARATOR + message.tags + PROPERTY_SEPARATOR;
  if (message.keys.length > 0) text += MessageProperty.KEYS + NAME_VALUE_SEPARATOR + message.keys.join(KEY_SEPARATOR) + PROPERTY_SEPARATOR;
  if (message.delayTimeLevel > 0) {
    text += MessageProperty.DELAY_TIME_LEVEL + NAME_VALUE_SEPARATOR + String(message.delayTimeLevel) + PROPERTY_SEPARATOR;
  }
  return text + (message.waitStoreMsgOK ? WAIT_TRUE_TEXT : WAIT_FALSE_TEXT);
}

function bodyBuffer(body: unknown, topic: string): Buffer {
  if (typeof body === 'string') return Buffer.from(body, 'utf8');
  if (Buffer.isBuffer(body)) return body;
  if (body instanceof Uint8Array) return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  throw new InvalidMessageError('body', `must be a Buffer, Uint8Array or string, got ${body === null ? 'null' : typeof body}`, { topic });
}

function hasSeparator(text: string): boolean {
  return text.includes(NAME_VALUE_SEPARATOR) || text.includes(PROPERTY_SEPARATOR);
}

function checkPropertyText(property: string, name: string, value: unknown, topic: string): void {
  if (typeof value !== 'string') throw new InvalidMessageError(property, `must be a string, got ${typeof value}`, { topic });
  if (name.length === 0 || value.length === 0) throw new InvalidMessageError(property, 'the name or value of a property can not be empty', { topic });
  if (hasSeparator(name) || hasSeparator(value)) {
    throw new InvalidMessageError(property, 'contains a property separator character (\\u0001 or \\u0002)', { topic });
  }
}

function checkTags(tags: unknown, topic: string): string | undefined {
  if (tags === undefined || tags === null || tags === '') return undefined;
  checkPropertyText('tags', MessageProperty.TAGS, tags, topic);
  return tags as string;
}

function checkKeys(keys: unknown, topic: string): readonly string[] {
  if (keys === undefined || keys === null) return NO_KEYS;
  if (typeof keys === 'string') {
    if (hasSeparator(keys)) throw new InvalidMessageError('keys', 'contains a property separator character', { topic });
    return Object.freeze(keys.split(KEY_SEPARATOR).filter((key) => key.length > 0));
  }
  if (!Array.isArray(keys)) throw new InvalidMessageError('keys', 'must be a string or an array of strings', { topic });
  for (const key of keys as unknown[]) {
    if (typeof key !== 'string' || key.length === 0) throw new InvalidMessageError('keys', 'every key must be a non-empty string', { topic });
    if (key.includes(KEY_SEPARATOR) || hasSeparator(key)) {
      throw new InvalidMessageError('keys', `key ${JSON.stringify(key)} contains a space or separator (several keys go in separate entries)`, { topic });
    }
  }
  return Object.freeze([...(keys as string[])]);
}

function checkUserProperties(properties: unknown, topic: string): Readonly<Record<string, string>> {
  if (properties === undefined || properties === null) return NO_PROPERTIES;
  if (typeof properties !== 'object' || Array.isArray(properties)) {
    throw new InvalidMessageError('properties', 'must be an object of string values', { topic });
  }
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(properties)) {
    checkPropertyText(`properties.${name}`, name, value, topic);
    if (RESERVED_PROPERTY_NAMES.has(name)) {
      throw new InvalidMessageError(`properties.${name}`, `the property ${name} is used by the system, use another name`, { topic });
    }
    out[name] = value as string;
  }
  return Object.freeze(out);
}

function checkInteger(property: string, value: unknown, min: number, max: number, topic: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new InvalidMessageError(property, `must be an integer in [${min}, ${max}], got ${String(value)}`, { topic });
  }
  return value;
}

/**
 * The topic rules of Java's Validators.checkTopic plus TopicValidator.isNotAllowedSendTopic; throws
 * InvalidMessageError.
 */
export function validateTopicForSend(topic: string): void {
  // Producers send to few topics: the last one that passed is known good (the check depends on the name only).
  if (topic === lastValidTopic) return;
  const problem = topicProblem(topic);
  if (problem !== null) throw new InvalidMessageError('topic', problem, { topic });
  if (topic === AUTO_CREATE_TOPIC_KEY_TOPIC) {
    throw new InvalidMessageError('topic', `the topic[${topic}] is conflict with AUTO_CREATE_TOPIC_KEY_TOPIC`, { topic });
  }
  if (NOT_ALLOWED_SEND_TOPICS.has(topic)) throw new InvalidMessageError('topic', `sending message to topic[${topic}] is forbidden`, { topic });
  lastValidTopic = topic;
}

let lastValidTopic: string | null = null;

/** System properties Tern's producer may add (WAIT, DELAY, UNIQ_KEY, TAGS/KEYS names) with separators, bounded. */
const SYSTEM_PROPERTIES_BYTES_MAX = 256;

function propertiesUpperBoundBytes(message: Message): number {
  // A message carrying a whole system property map (rebuilt from a received one) is measured exactly.
  if (systemPropertiesOf(message) !== undefined) return Number.POSITIVE_INFINITY;
  let chars = message.tags?.length ?? 0;
  const keys = message.keys;
  for (let i = 0; i < keys.length; i++) chars += keys[i]!.length + 1;
  const properties = message.properties;
  if (properties !== NO_PROPERTIES) for (const name in properties) chars += name.length + (properties[name]?.length ?? 0) + 2;
  return chars * 3 + SYSTEM_PROPERTIES_BYTES_MAX;
}

/**
 * Java's Validators.checkMessage: valid topic, non-empty body, body ≤ maxMessageSize; plus the properties string
 * within RocketMQ's 32767-byte limit (the broker would answer MESSAGE_ILLEGAL). Throws InvalidMessageError.
 */
export function validateMessage(message: Message, maxMessageSize: number = MESSAGE_SIZE_MAX_BYTES_DEFAULT): void {
  if (!(message instanceof Message)) throw new InvalidMessageError('message', 'must be a Message');
  const topic = message.topic;
  validateTopicForSend(topic);
  if (message.body.length === 0) throw new InvalidMessageError('body', 'the message body length is zero', { topic });
  if (message.body.length > maxMessageSize) {
    throw new InvalidMessageError('body', `the message body size ${message.body.length} is over the max value ${maxMessageSize}`, { topic });
  }
  // Encoding the properties only to measure them is most of this check's cost: skip it when even three UTF-8 bytes
  // per character (plus separators and the system properties) cannot reach the limit.
  if (propertiesUpperBoundBytes(message) <= PROPERTIES_MAX_BYTES) return;
  const propertiesBytes = Buffer.byteLength(encodeProperties(message.propertyMap()), 'utf8');
  if (propertiesBytes > PROPERTIES_MAX_BYTES) {
    throw new InvalidMessageError('properties', `the encoded properties take ${propertiesBytes} bytes, more than ${PROPERTIES_MAX_BYTES}`, { topic });
  }
}

// ---- received messages --------------------------------------------------------------------------------------------

/**
 * A stored message as a consumer receives it (RocketMQ's MessageExt / MessageClientExt), decoded from a PULL_MESSAGE
 * body (or a CHECK_TRANSACTION_STATE body). `msgId` is the producer's UNIQ_KEY when present, else the offset id.
 */
export interface MessageExt {
  readonly topic: string;
  /** Inflated when the record is compressed (sysFlag COMPRESSED) and decoding was asked to inflate. */
  readonly body: Buffer;
  readonly flag: number;
  /** UNIQ_KEY if the producer set one, else offsetMsgId (Java's MessageClientExt.getMsgId). */
  readonly msgId: string;
  /** Store host + CommitLog offset, 32 hex characters for IPv4 (MessageDecoder.createMessageId). */
  readonly offsetMsgId: string;
  readonly queueId: number;
  readonly queueOffset: number;
  readonly commitLogOffset: number;
  /** As stored (COMPRESSED stays set after inflating, as in Java). */
  readonly sysFlag: number;
  readonly bornTimestamp: number;
  readonly storeTimestamp: number;
  /** "ip:port" of the producer's connection. */
  readonly bornHost: string;
  /** "ip:port" of the broker that stored the message. */
  readonly storeHost: string;
  readonly reconsumeTimes: number;
  readonly preparedTransactionOffset: number;
  readonly bodyCRC: number;
  /** The record's size in bytes. */
  readonly storeSize: number;
  readonly properties: Readonly<Record<string, string>>;
  readonly tags: string | undefined;
  readonly keys: readonly string[];
  /** DELAY, or 0. */
  readonly delayTimeLevel: number;
}

export interface DecodeMessagesOptions {
  /** Inflate compressed bodies (zlib). @defaultValue true */
  inflate?: boolean;
}

/** Decodes the one record at `position` of `source` (a PULL body or a single record). Throws ProtocolError. */
export function decodeMessageExt(source: Buffer, position = 0, options: DecodeMessagesOptions = {}): MessageExt {
  // Read in place: this runs for every consumed message, so no intermediate record object, no copies of the body or
  // the hosts, and the properties string is split straight into the result object.
  if (position + RECORD_FIXED_BYTES_IPV4 > source.length) throw recordError(position, 'shorter than a record header');
  const totalSize = int32At(source, position);
  const end = position + totalSize;
  if (totalSize < RECORD_FIXED_BYTES_IPV4 || end > source.length) throw recordError(position, `total size ${totalSize} runs past the body`);
  const sysFlag = int32At(source, position + RecordField.SYS_FLAG);
  const layout = recordLayout(sysFlag);
  const bornIpBytes = sysFlag & MessageSysFlag.BORNHOST_V6 ? 16 : 4;
  const storeIpBytes = sysFlag & MessageSysFlag.STOREHOSTADDRESS_V6 ? 16 : 4;
  const storeHostAt = position + layout.storeHostAt;
  const bodyLengthAt = position + layout.bodyLengthAt;
  if (bodyLengthAt + 4 > end) throw recordError(position, 'header longer than the record');
  const bodyLength = int32At(source, bodyLengthAt);
  const bodyStart = bodyLengthAt + 4;
  const topicLengthAt = bodyStart + bodyLength;
  if (bodyLength < 0 || topicLengthAt + 1 > end) throw recordError(position, `body length ${bodyLength} runs past the record`);
  const topicLength = source[topicLengthAt]!;
  const propertiesLengthAt = topicLengthAt + 1 + topicLength;
  if (propertiesLengthAt + 2 > end) throw recordError(position, 'topic runs past the record');
  const propertiesLength = int16At(source, propertiesLengthAt);
  if (propertiesLengthAt + 2 + propertiesLength !== end) throw recordError(position, 'field lengths do not add up to the total size');
  const propertiesStart = propertiesLengthAt + 2;
  const properties = decodePropertiesToObject(source.toString('utf8', propertiesStart, propertiesEndBeforeRecordCrc(source, propertiesStart, end)),
    MessageProperty.CRC32);
  let body = source.subarray(bodyStart, topicLengthAt);
  if ((sysFlag & MessageSysFlag.COMPRESSED) !== 0 && options.inflate !== false) {
    try {
      body = inflateSync(body);
    } catch (error) {
      throw new ProtocolError(`message record at byte ${position}: compressed body does not inflate: ${(error as Error).message}`, { cause: error });
    }
  }
  const keys = properties[MessageProperty.KEYS];
  const delay = Number(properties[MessageProperty.DELAY_TIME_LEVEL] ?? 0);
  const offsetMsgId = offsetMessageId(source, storeHostAt, storeIpBytes + 4, position + RecordField.PHYSICAL_OFFSET);
  // A plain object (consumers copy messages with spreads, e.g. to restore a retry message's topic).
  return {
    topic: lastTopic.text(source, topicLengthAt + 1, propertiesLengthAt),
    body,
    flag: int32At(source, position + RecordField.FLAG),
    msgId: properties[MessageProperty.UNIQ_CLIENT_MESSAGE_ID_KEYIDX] ?? offsetMsgId,
    offsetMsgId,
    queueId: int32At(source, position + RecordField.QUEUE_ID),
    queueOffset: int64At(source, position + RecordField.QUEUE_OFFSET),
    commitLogOffset: int64At(source, position + RecordField.PHYSICAL_OFFSET),
    sysFlag,
    bornTimestamp: int64At(source, position + RecordField.BORN_TIMESTAMP),
    storeTimestamp: int64At(source, position + layout.storeTimestampAt),
    bornHost: lastBornHost.text(source, position + RecordField.BORN_HOST, bornIpBytes),
    storeHost: lastStoreHost.text(source, storeHostAt, storeIpBytes),
    reconsumeTimes: int32At(source, storeHostAt + storeIpBytes + 4),
    preparedTransactionOffset: int64At(source, storeHostAt + storeIpBytes + 8),
    bodyCRC: int32At(source, position + RecordField.BODY_CRC),
    storeSize: totalSize,
    properties,
    tags: properties[MessageProperty.TAGS],
    keys: keys === undefined ? NO_KEYS : keys.split(KEY_SEPARATOR).filter((key) => key.length > 0),
    delayTimeLevel: Number.isInteger(delay) && delay > 0 ? delay : 0,
  };
}

/*
 * Big-endian reads for the decoder's hot path, after the bounds are checked: Buffer's readInt32BE validates its
 * offset argument on every call, which costs several times the read itself (tens of calls per message).
 */
function int32At(source: Buffer, at: number): number {
  return (source[at]! << 24) | (source[at + 1]! << 16) | (source[at + 2]! << 8) | source[at + 3]!;
}

function int16At(source: Buffer, at: number): number {
  return ((source[at]! << 24) | (source[at + 1]! << 16)) >> 16;
}

/** A non-negative int64 below 2^53 (offsets, timestamps) as a number, like protocol's readInt64. */
function int64At(source: Buffer, at: number): number {
  return int32At(source, at) * 0x1_0000_0000 + (int32At(source, at + 4) >>> 0);
}

/** `\u0002__CRC32#\u0001`: what precedes the 10 digits of the store's record CRC, the last property it writes. */
const RECORD_CRC_PROPERTY_HEAD = Buffer.from(PROPERTY_SEPARATOR + MessageProperty.CRC32 + NAME_VALUE_SEPARATOR, 'latin1');
const RECORD_CRC_PROPERTY_BYTES = RECORD_CRC_PROPERTY_HEAD.length + 10;

/**
 * Where the properties end without the store's record CRC property (left out of MessageExt.properties anyway): the
 * bytes decoded and split per message are a third fewer. `end` itself when the properties do not end with it.
 */
function propertiesEndBeforeRecordCrc(source: Buffer, start: number, end: number): number {
  const at = end - RECORD_CRC_PROPERTY_BYTES;
  if (at < start) return end;
  for (let i = 0; i < RECORD_CRC_PROPERTY_HEAD.length; i++) if (source[at + i] !== RECORD_CRC_PROPERTY_HEAD[i]) return end;
  return at;
}

function recordError(position: number, reason: string): ProtocolError {
  return new ProtocolError(`message record at byte ${position}: ${reason}`);
}

const HEX_DIGIT_CODES = Array.from('0123456789ABCDEF', (digit) => digit.charCodeAt(0));
/** Character codes of an IPv4 offset message id (8 store host bytes + 8 offset bytes = 32 hex digits). */
const ipv4OffsetIdCodes: number[] = new Array<number>(32).fill(0);

/**
 * MessageDecoder.createMessageId: the store host (ip, port) and the physical offset bytes, in upper-case hex. Built
 * from character codes into one string, instead of several intermediate strings per message.
 */
function offsetMessageId(source: Buffer, storeHostAt: number, storeHostBytes: number, physicalOffsetAt: number): string {
  const codes = storeHostBytes === 8 ? ipv4OffsetIdCodes : new Array<number>((storeHostBytes + 8) * 2);
  let at = 0;
  for (let i = storeHostAt; i < storeHostAt + storeHostBytes; i++) {
    codes[at++] = HEX_DIGIT_CODES[source[i]! >> 4]!;
    codes[at++] = HEX_DIGIT_CODES[source[i]! & 15]!;
  }
  for (let i = physicalOffsetAt; i < physicalOffsetAt + 8; i++) {
    codes[at++] = HEX_DIGIT_CODES[source[i]! >> 4]!;
    codes[at++] = HEX_DIGIT_CODES[source[i]! & 15]!;
  }
  return String.fromCharCode.apply(null, codes);
}

/**
 * The text of the last host decoded for one field. A consumer's messages come from one broker (store host) and a
 * few producer connections (born host), so most records repeat the previous host: its text is reused, not rebuilt.
 */
class LastHostText {
  private ipv4 = -1;
  private port = -1;
  private text_ = '';

  /** "a.b.c.d:port" or "[v6]:port" from a record's host bytes. */
  text(source: Buffer, at: number, ipBytes: number): string {
    const port = int32At(source, at + ipBytes);
    if (ipBytes !== 4) return formatHostAddress({ ip: source.subarray(at, at + ipBytes), port });
    const ipv4 = int32At(source, at) >>> 0;
    if (ipv4 !== this.ipv4 || port !== this.port) {
      this.text_ = `${source[at]}.${source[at + 1]}.${source[at + 2]}.${source[at + 3]}:${port}`;
      this.ipv4 = ipv4;
      this.port = port;
    }
    return this.text_;
  }
}

/** The last topic decoded, by its bytes: a pull answers records of one topic, so the string is decoded once. */
class LastTopicText {
  private readonly bytes = Buffer.alloc(TOPIC_BYTES_MAX);
  private length = -1;
  private text_ = '';

  text(source: Buffer, start: number, end: number): string {
    const length = end - start;
    if (length === this.length) {
      let same = true;
      for (let i = 0; i < length; i++) {
        if (source[start + i] !== this.bytes[i]) {
          same = false;
          break;
        }
      }
      if (same) return this.text_;
    }
    this.text_ = source.toString('utf8', start, end);
    source.copy(this.bytes, 0, start, end);
    this.length = length;
    return this.text_;
  }
}

/** A record's topic length is one byte. */
const TOPIC_BYTES_MAX = 255;
const lastTopic = new LastTopicText();
const lastBornHost = new LastHostText();
const lastStoreHost = new LastHostText();

/**
 * Splits a PULL_MESSAGE body (stored records back to back, each starting with its int32 total size) into messages,
 * in order. Throws ProtocolError on bytes that are not whole records.
 */
export function decodeMessages(body: Buffer | null, options: DecodeMessagesOptions = {}): MessageExt[] {
  const messages: MessageExt[] = [];
  if (body === null) return messages;
  let at = 0;
  // Bounded: every pass advances by a positive size checked against the body.
  while (at < body.length) {
    if (at + 4 > body.length) throw new ProtocolError(`pull body: ${body.length - at} trailing bytes at byte ${at}`);
    const size = int32At(body, at);
    if (size <= 0 || at + size > body.length) throw new ProtocolError(`pull body: record at byte ${at} claims ${size} of ${body.length - at} bytes`);
    // decodeMessageExt keeps to the record's own total size, which is `size`: no bounded view per record needed.
    messages.push(decodeMessageExt(body, at, options));
    at += size;
  }
  return messages;
}
