import {
  type HostAddress, MESSAGE_MAGIC_CODE, MessageProperty, MessageSysFlag, NAME_VALUE_SEPARATOR, RECORD_CRC_DIGITS,
  RECORD_FIXED_BYTES_IPV4,
} from '@tern/protocol';
import { crc32Range } from './record-crc32.js';

/*
 * The store's CommitLog record encoder: the same bytes as @tern/protocol's writeMessageRecord (see the layout there),
 * written with index arithmetic instead of a Buffer method call per field, and with the record CRC computed in
 * JavaScript (record-crc32.ts). It runs once per stored message, so it avoids every per-field allocation.
 */

/** The record CRC property's name and separator, `__CRC32#\u0001`, which the 10 digits follow. */
export const RECORD_CRC_PREFIX = Buffer.from(MessageProperty.CRC32 + NAME_VALUE_SEPARATOR, 'latin1');
/** Bytes the CRC property adds to non-empty properties: separator + prefix + digits. */
export const RECORD_CRC_PROPERTY_BYTES = 1 + RECORD_CRC_PREFIX.length + RECORD_CRC_DIGITS;

const TWO_POW_32 = 0x1_0000_0000;

/** The fields every record of one put shares: one batch differs only in flag, body and properties per member. */
export interface RecordHeadFields {
  topicBytes: Buffer;
  queueId: number;
  /** As stored: sysFlagForHosts applied. */
  sysFlag: number;
  bornTimestampMs: number;
  bornHost: HostAddress;
  storeTimestampMs: number;
  storeHost: HostAddress;
  reconsumeTimes: number;
  preparedTransactionOffset: number;
}

/** The sys flag with the host-width bits set from the hosts (MessageSysFlag.BORNHOST_V6 / STOREHOSTADDRESS_V6). */
export function storedSysFlag(sysFlag: number, bornHost: HostAddress, storeHost: HostAddress): number {
  let flag = sysFlag & ~(MessageSysFlag.BORNHOST_V6 | MessageSysFlag.STOREHOSTADDRESS_V6);
  if (bornHost.ip.length === 16) flag |= MessageSysFlag.BORNHOST_V6;
  if (storeHost.ip.length === 16) flag |= MessageSysFlag.STOREHOSTADDRESS_V6;
  return flag;
}

/** A record's size from its variable parts (propertiesBytes includes the CRC property). */
export function storedRecordBytes(head: RecordHeadFields, bodyBytes: number, propertiesBytes: number): number {
  return RECORD_FIXED_BYTES_IPV4 + (head.bornHost.ip.length - 4) + (head.storeHost.ip.length - 4) + bodyBytes
    + head.topicBytes.length + propertiesBytes;
}

/**
 * Writes everything of a record but its properties at `position`: the fixed fields, BODYLEN and the body (copied
 * from `body`), the topic and PROPSLEN. Returns where the properties start; the caller writes them (ending with the
 * CRC property's prefix and room for its digits), then calls sealRecord.
 */
export function writeRecordHead(
  target: Buffer,
  position: number,
  totalSizeBytes: number,
  bodyCrc: number,
  head: RecordHeadFields,
  flag: number,
  queueOffset: number,
  physicalOffset: number,
  body: Uint8Array,
  propertiesBytes: number,
): number {
  putInt32(target, position, totalSizeBytes);
  putInt32(target, position + 4, MESSAGE_MAGIC_CODE);
  putInt32(target, position + 8, bodyCrc);
  putInt32(target, position + 12, head.queueId);
  putInt32(target, position + 16, flag);
  putInt64(target, position + 20, queueOffset);
  putInt64(target, position + 28, physicalOffset);
  putInt32(target, position + 36, head.sysFlag);
  putInt64(target, position + 40, head.bornTimestampMs);
  let at = putHost(target, position + 48, head.bornHost);
  putInt64(target, at, head.storeTimestampMs);
  at = putHost(target, at + 8, head.storeHost);
  putInt32(target, at, head.reconsumeTimes);
  putInt64(target, at + 4, head.preparedTransactionOffset);
  putInt32(target, at + 12, body.length);
  at += 16;
  target.set(body, at);
  at += body.length;
  const topic = head.topicBytes;
  target[at++] = topic.length;
  for (let i = 0; i < topic.length; i++) target[at + i] = topic[i]!;
  at += topic.length;
  target[at] = propertiesBytes >>> 8;
  target[at + 1] = propertiesBytes;
  return at + 2;
}

/** Writes the CRC property's prefix at `at` (the digits follow; sealRecord fills them); returns the end. */
export function writeRecordCrcPrefix(target: Buffer, at: number): number {
  const prefix = RECORD_CRC_PREFIX;
  for (let i = 0; i < prefix.length; i++) target[at + i] = prefix[i]!;
  return at + prefix.length + RECORD_CRC_DIGITS;
}

/**
 * Fills the record CRC's 10 digits (the last bytes of the record): CRC32 of every byte before them except the body,
 * which BODYCRC covers.
 */
export function sealRecord(target: Buffer, position: number, bodyStart: number, bodyEnd: number, totalSizeBytes: number): void {
  const digitsAt = position + totalSizeBytes - RECORD_CRC_DIGITS;
  const value = crc32Range(target, bodyEnd, digitsAt, crc32Range(target, position, bodyStart));
  // Ten digits as two halves below 10^5, so the digit loop does small-integer arithmetic only.
  const high = Math.floor(value / 100_000);
  putDigits5(target, digitsAt, high);
  putDigits5(target, digitsAt + 5, value - high * 100_000);
}

function putDigits5(target: Buffer, at: number, value: number): void {
  for (let i = at + 4; i >= at; i--) {
    const next = (value / 10) | 0;
    target[i] = 0x30 + value - next * 10;
    value = next;
  }
}

function putInt32(target: Buffer, at: number, value: number): void {
  target[at] = value >>> 24;
  target[at + 1] = value >>> 16;
  target[at + 2] = value >>> 8;
  target[at + 3] = value;
}

/** Offsets and timestamps are below 2^53: two int32 halves, no BigInt. */
function putInt64(target: Buffer, at: number, value: number): void {
  putInt32(target, at, Math.floor(value / TWO_POW_32));
  putInt32(target, at + 4, value >>> 0);
}

function putHost(target: Buffer, at: number, host: HostAddress): number {
  const ip = host.ip;
  for (let i = 0; i < ip.length; i++) target[at + i] = ip[i]!;
  putInt32(target, at + ip.length, host.port);
  return at + ip.length + 4;
}
