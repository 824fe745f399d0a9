import { crc32 } from 'node:zlib';
import type { HostAddress } from './host-address.js';
import { MessageSysFlag } from './sys-flag.js';
import { NAME_VALUE_SEPARATOR, PROPERTY_SEPARATOR, decodeProperties } from './properties.js';
import { MessageProperty } from './message-const.js';

/*
 * RocketMQ 4.x stored message record: the CommitLog entry, and each element of a PULL_MESSAGE body (a pull response
 * copies these bytes unchanged). Big-endian. Offsets below are for IPv4 hosts; a 16-byte IPv6 address widens
 * BORNHOST (sysFlag BORNHOST_V6) and STOREHOST (sysFlag STOREHOSTADDRESS_V6) by 12 bytes each.
 *
 *  0 ┌──────────────┬──────────────┬──────────────┬──────────────┬──────────────┐
 *    │ TOTALSIZE 4  │ MAGICCODE 4  │ BODYCRC 4    │ QUEUEID 4    │ FLAG 4       │
 * 20 ├──────────────┴──────────────┼──────────────┴──────────────┼──────────────┤
 *    │ QUEUEOFFSET 8                │ PHYSICALOFFSET 8            │ SYSFLAG 4    │
 * 40 ├──────────────────────────────┼─────────────────────────────┴──────────────┤
 *    │ BORNTIMESTAMP 8              │ BORNHOST 4+4 (IPv6 16+4)                   │
 * 56 ├──────────────────────────────┼────────────────────────────────────────────┤
 *    │ STORETIMESTAMP 8             │ STOREHOST 4+4 (IPv6 16+4)                  │
 * 72 ├──────────────┬───────────────┴────────────────────────────────────────────┤
 *    │ RECONSUME 4  │ PREPARED TRANSACTION OFFSET 8                              │
 * 84 ├──────────────┼──────────────────────┬─────────────┬─────────┬─────────────┤
 *    │ BODYLEN 4    │ BODY                 │ TOPICLEN 1  │ TOPIC   │ PROPSLEN 2  │ PROPERTIES
 *    └──────────────┴──────────────────────┴─────────────┴─────────┴─────────────┘
 *
 * End of a CommitLog segment: when a record plus 8 bytes does not fit, a BLANK filler (int32 remaining bytes,
 * int32 BLANK_MAGIC_CODE) fills the segment and the record starts the next one.
 *
 * Record CRC: the store appends the property `__CRC32#` (the name of RocketMQ 5's PROPERTY_CRC32) whose value is the
 * 10-digit decimal CRC32 of every record byte before those 10 digits except the body; the body is covered by
 * BODYCRC, which the record CRC covers in turn. Together they see any flipped or torn byte (BODYCRC alone cannot see
 * a damaged header), and the body is read once instead of twice. RocketMQ 5 CRCs the body again; Tern's files are
 * not meant to be read by RocketMQ, so the cheaper definition wins.
 */
export const MESSAGE_MAGIC_CODE = 0xdaa320a7 | 0;
export const BLANK_MAGIC_CODE = 0xcbd43194 | 0;
/** A BLANK filler's size on its own: total size + magic code. */
export const BLANK_FILLER_MIN_BYTES = 8;
/** Bytes in a record besides body, topic and properties, with IPv4 hosts (RocketMQ's 91). */
export const RECORD_FIXED_BYTES_IPV4 = 91;
export const TOPIC_MAX_BYTES = 127;
export const RECORD_CRC_DIGITS = 10;
const RECORD_CRC_SUFFIX = MessageProperty.CRC32 + NAME_VALUE_SEPARATOR;

export const RecordField = {
  TOTAL_SIZE: 0,
  MAGIC_CODE: 4,
  BODY_CRC: 8,
  QUEUE_ID: 12,
  FLAG: 16,
  QUEUE_OFFSET: 20,
  PHYSICAL_OFFSET: 28,
  SYS_FLAG: 36,
  BORN_TIMESTAMP: 40,
  BORN_HOST: 48,
} as const;

/** The fields a producer (or the broker, for retries and delays) decides; the store adds the rest. */
export interface MessageRecordInput {
  topic: string;
  queueId: number;
  flag: number;
  body: Uint8Array;
  /** Encoded properties string (see properties.ts), without the store's CRC property. */
  properties: string;
  sysFlag: number;
  bornTimestampMs: number;
  bornHost: HostAddress;
  storeHost: HostAddress;
  reconsumeTimes: number;
  preparedTransactionOffset: number;
}

/** Fields the store fills in at append time. */
export interface MessageRecordPlacement {
  queueOffset: number;
  physicalOffset: number;
  storeTimestampMs: number;
}

export interface DecodedMessageRecord extends MessageRecordInput, MessageRecordPlacement {
  totalSizeBytes: number;
  bodyCrc: number;
  propertyMap: Map<string, string>;
}

/** CRC32 & 0x7FFFFFFF, as RocketMQ's UtilAll.crc32 computes the BODYCRC field. */
export function bodyCrc32(body: Uint8Array): number {
  return crc32(body) & 0x7fffffff;
}

export function sysFlagForHosts(sysFlag: number, bornHost: HostAddress, storeHost: HostAddress): number {
  let flag = sysFlag & ~(MessageSysFlag.BORNHOST_V6 | MessageSysFlag.STOREHOSTADDRESS_V6);
  if (bornHost.ip.length === 16) flag |= MessageSysFlag.BORNHOST_V6;
  if (storeHost.ip.length === 16) flag |= MessageSysFlag.STOREHOSTADDRESS_V6;
  return flag;
}

/** The properties string as stored: the caller's properties plus the CRC property placeholder. */
export function propertiesWithCrcPlaceholder(properties: string): string {
  const prefix = properties.length > 0 ? properties + PROPERTY_SEPARATOR : '';
  return prefix + RECORD_CRC_SUFFIX + '0'.repeat(RECORD_CRC_DIGITS);
}

export function recordSizeBytes(
  bodyBytes: number,
  topicBytes: number,
  propertiesBytes: number,
  bornHostIpBytes = 4,
  storeHostIpBytes = 4,
): number {
  return RECORD_FIXED_BYTES_IPV4 + (bornHostIpBytes - 4) + (storeHostIpBytes - 4) + bodyBytes + topicBytes + propertiesBytes;
}

/**
 * What a record needs besides its position, computed once per message before its place in the CommitLog is known,
 * so the append path only copies bytes.
 */
export interface EncodedMessageParts {
  input: Omit<MessageRecordInput, 'storeHost'>;
  storeHost: HostAddress;
  topicBytes: Buffer;
  /** Stored properties, including the CRC placeholder when `withRecordCrc`. */
  propertiesText: string;
  propertiesByteLength: number;
  bodyCrc: number;
  sysFlag: number;
  totalSizeBytes: number;
  withRecordCrc: boolean;
}

/**
 * `topicBytes` lets a caller pass cached UTF-8 bytes of `input.topic`; `storeHost` lets the store supply its address
 * without copying the input.
 */
export function prepareMessageRecord(
  input: Omit<MessageRecordInput, 'storeHost'> & { storeHost?: HostAddress },
  withRecordCrc = true,
  topicBytes?: Buffer,
  storeHost: HostAddress | undefined = input.storeHost,
): EncodedMessageParts {
  if (!storeHost) throw new TypeError('prepareMessageRecord: no store host');
  const topic = topicBytes ?? Buffer.from(input.topic, 'utf8');
  const propertiesText = withRecordCrc ? propertiesWithCrcPlaceholder(input.properties) : input.properties;
  const propertiesByteLength = Buffer.byteLength(propertiesText, 'utf8');
  const sysFlag = sysFlagForHosts(input.sysFlag, input.bornHost, storeHost);
  const totalSizeBytes = recordSizeBytes(
    input.body.length, topic.length, propertiesByteLength, input.bornHost.ip.length, storeHost.ip.length,
  );
  return {
    input, storeHost, topicBytes: topic, propertiesText, propertiesByteLength, bodyCrc: bodyCrc32(input.body), sysFlag,
    totalSizeBytes, withRecordCrc,
  };
}

/** Writes a prepared record at `position` of `target`; returns the record's size. */
export function writeMessageRecord(
  target: Buffer,
  position: number,
  parts: EncodedMessageParts,
  placement: MessageRecordPlacement,
): number {
  const { input, topicBytes, totalSizeBytes } = parts;
  let at = position;
  at = target.writeInt32BE(totalSizeBytes, at);
  at = target.writeInt32BE(MESSAGE_MAGIC_CODE, at);
  at = target.writeInt32BE(parts.bodyCrc, at);
  at = target.writeInt32BE(input.queueId, at);
  at = target.writeInt32BE(input.flag, at);
  at = writeInt64(target, placement.queueOffset, at);
  at = writeInt64(target, placement.physicalOffset, at);
  at = target.writeInt32BE(parts.sysFlag, at);
  at = writeInt64(target, input.bornTimestampMs, at);
  at = writeHost(target, input.bornHost, at);
  at = writeInt64(target, placement.storeTimestampMs, at);
  at = writeHost(target, parts.storeHost, at);
  at = target.writeInt32BE(input.reconsumeTimes, at);
  at = writeInt64(target, input.preparedTransactionOffset, at);
  at = target.writeInt32BE(input.body.length, at);
  const bodyStart = at;
  target.set(input.body, at);
  at += input.body.length;
  at = target.writeUInt8(topicBytes.length, at);
  at += topicBytes.copy(target, at);
  at = target.writeInt16BE(parts.propertiesByteLength, at);
  at += target.write(parts.propertiesText, at, parts.propertiesByteLength, 'utf8');
  if (parts.withRecordCrc) writeRecordCrc(target, position, bodyStart, bodyStart + input.body.length, totalSizeBytes);
  return at - position;
}

/** Writes a BLANK filler of `fillerBytes` (≥ 8) at `position`. */
export function writeBlankFiller(target: Buffer, position: number, fillerBytes: number): void {
  target.writeInt32BE(fillerBytes, position);
  target.writeInt32BE(BLANK_MAGIC_CODE, position + 4);
}

function recordCrcOf(record: Buffer, bodyStart: number, bodyEnd: number, digitsAt: number): number {
  return crc32(record.subarray(bodyEnd, digitsAt), crc32(record.subarray(0, bodyStart)));
}

function writeRecordCrc(target: Buffer, position: number, bodyStart: number, bodyEnd: number, totalSizeBytes: number): void {
  const digitsAt = position + totalSizeBytes - RECORD_CRC_DIGITS;
  let value = crc32(target.subarray(bodyEnd, digitsAt), crc32(target.subarray(position, bodyStart)));
  // Ten decimal digits written in place: no string per message.
  for (let at = digitsAt + RECORD_CRC_DIGITS - 1; at >= digitsAt; at--) {
    target[at] = 0x30 + (value % 10);
    value = Math.floor(value / 10);
  }
}

/**
 * Checks a record's CRCs. Returns 'ok', 'absent' (no CRC property at the end: a record written without one), or
 * 'mismatch' (the record CRC, or BODYCRC when `checkBody`, does not match).
 */
export function checkRecordCrc(record: Buffer, checkBody = true): 'ok' | 'absent' | 'mismatch' {
  const digitsAt = record.length - RECORD_CRC_DIGITS;
  const suffixAt = digitsAt - RECORD_CRC_SUFFIX.length;
  if (suffixAt < RECORD_FIXED_BYTES_IPV4 - 2) return 'absent';
  if (record.toString('latin1', suffixAt, digitsAt) !== RECORD_CRC_SUFFIX) return 'absent';
  // The suffix must start a property: right after a separator, or as the first property.
  const startsProperties = record.readInt16BE(suffixAt - 2) === record.length - suffixAt;
  if (record[suffixAt - 1] !== 0x02 && !startsProperties) return 'absent';
  const stored = record.toString('latin1', digitsAt);
  if (!/^\d{10}$/.test(stored)) return 'mismatch';
  const bodyLengthAt = recordLayout(record.readInt32BE(RecordField.SYS_FLAG)).bodyLengthAt;
  if (bodyLengthAt + 4 > suffixAt) return 'mismatch';
  const bodyStart = bodyLengthAt + 4;
  const bodyEnd = bodyStart + record.readInt32BE(bodyLengthAt);
  if (bodyEnd < bodyStart || bodyEnd > suffixAt) return 'mismatch';
  if (Number(stored) !== recordCrcOf(record, bodyStart, bodyEnd, digitsAt)) return 'mismatch';
  if (checkBody && bodyCrc32(record.subarray(bodyStart, bodyEnd)) !== record.readInt32BE(RecordField.BODY_CRC)) return 'mismatch';
  return 'ok';
}

function writeInt64(target: Buffer, value: number, at: number): number {
  // Offsets and timestamps are below 2^53; two int32 writes avoid a BigInt per field on the hot path.
  target.writeInt32BE(Math.floor(value / 0x1_0000_0000), at);
  target.writeUInt32BE(value >>> 0, at + 4);
  return at + 8;
}

export function readInt64(source: Buffer, at: number): number {
  return source.readInt32BE(at) * 0x1_0000_0000 + source.readUInt32BE(at + 4);
}

function writeHost(target: Buffer, host: HostAddress, at: number): number {
  target.set(host.ip, at);
  return target.writeInt32BE(host.port, at + host.ip.length);
}

/** Layout positions of the variable part of a record, derived from its sys flag. */
export function recordLayout(sysFlag: number): { storeTimestampAt: number; storeHostAt: number; bodyLengthAt: number } {
  const bornIpBytes = sysFlag & MessageSysFlag.BORNHOST_V6 ? 16 : 4;
  const storeIpBytes = sysFlag & MessageSysFlag.STOREHOSTADDRESS_V6 ? 16 : 4;
  const storeTimestampAt = RecordField.BORN_HOST + bornIpBytes + 4;
  const storeHostAt = storeTimestampAt + 8;
  const bodyLengthAt = storeHostAt + storeIpBytes + 4 + 4 + 8;
  return { storeTimestampAt, storeHostAt, bodyLengthAt };
}

/**
 * Decodes one record starting at `position`. Throws RangeError on bytes that do not hold a whole record; callers
 * that read untrusted or possibly torn bytes use the store's checked scanner instead.
 */
export function decodeMessageRecord(source: Buffer, position = 0): DecodedMessageRecord {
  const totalSizeBytes = source.readInt32BE(position);
  const sysFlag = source.readInt32BE(position + RecordField.SYS_FLAG);
  const layout = recordLayout(sysFlag);
  const bornIpBytes = sysFlag & MessageSysFlag.BORNHOST_V6 ? 16 : 4;
  const storeIpBytes = sysFlag & MessageSysFlag.STOREHOSTADDRESS_V6 ? 16 : 4;
  const at = (field: number): number => position + field;
  const bodyLengthAt = at(layout.bodyLengthAt);
  const bodyLength = source.readInt32BE(bodyLengthAt);
  const bodyStart = bodyLengthAt + 4;
  const topicLengthAt = bodyStart + bodyLength;
  const topicLength = source.readUInt8(topicLengthAt);
  const topic = source.toString('utf8', topicLengthAt + 1, topicLengthAt + 1 + topicLength);
  const propertiesLengthAt = topicLengthAt + 1 + topicLength;
  const propertiesLength = source.readInt16BE(propertiesLengthAt);
  const propertiesText = source.toString('utf8', propertiesLengthAt + 2, propertiesLengthAt + 2 + propertiesLength);
  if (propertiesLengthAt + 2 + propertiesLength !== position + totalSizeBytes) {
    throw new RangeError(`record at ${position}: fields end at ${propertiesLengthAt + 2 + propertiesLength}, total size says ${position + totalSizeBytes}`);
  }
  const propertyMap = decodeProperties(propertiesText);
  const hostAt = (ipAt: number, ipBytes: number): HostAddress => ({
    ip: Uint8Array.from(source.subarray(ipAt, ipAt + ipBytes)),
    port: source.readInt32BE(ipAt + ipBytes),
  });
  return {
    totalSizeBytes,
    bodyCrc: source.readInt32BE(at(RecordField.BODY_CRC)),
    queueId: source.readInt32BE(at(RecordField.QUEUE_ID)),
    flag: source.readInt32BE(at(RecordField.FLAG)),
    queueOffset: readInt64(source, at(RecordField.QUEUE_OFFSET)),
    physicalOffset: readInt64(source, at(RecordField.PHYSICAL_OFFSET)),
    sysFlag,
    bornTimestampMs: readInt64(source, at(RecordField.BORN_TIMESTAMP)),
    bornHost: hostAt(at(RecordField.BORN_HOST), bornIpBytes),
    storeTimestampMs: readInt64(source, at(layout.storeTimestampAt)),
    storeHost: hostAt(at(layout.storeHostAt), storeIpBytes),
    reconsumeTimes: source.readInt32BE(at(layout.storeHostAt) + storeIpBytes + 4),
    preparedTransactionOffset: readInt64(source, at(layout.storeHostAt) + storeIpBytes + 8),
    body: Uint8Array.from(source.subarray(bodyStart, bodyStart + bodyLength)),
    topic,
    properties: stripRecordCrc(propertiesText),
    propertyMap: stripCrcFromMap(propertyMap),
  };
}

function stripRecordCrc(propertiesText: string): string {
  const at = propertiesText.lastIndexOf(RECORD_CRC_SUFFIX);
  if (at < 0 || at + RECORD_CRC_SUFFIX.length + RECORD_CRC_DIGITS !== propertiesText.length) return propertiesText;
  if (at > 0 && propertiesText[at - 1] !== PROPERTY_SEPARATOR) return propertiesText;
  return propertiesText.slice(0, Math.max(0, at - 1));
}

function stripCrcFromMap(map: Map<string, string>): Map<string, string> {
  map.delete(MessageProperty.CRC32);
  return map;
}
