import { crc32 } from 'node:zlib';
import { MESSAGE_MAGIC_CODE, MessageSysFlag, RECORD_CRC_DIGITS, RECORD_FIXED_BYTES_IPV4, RecordField } from '@tern/protocol';
import { crc32Range } from '../commitlog/record-crc32.js';
import { RECORD_CRC_PREFIX } from '../commitlog/record-writer.js';

/*
 * The check every stored record passes before the store hands it out (each record of a PULL_MESSAGE, and each
 * record recovery accepts): magic code, total size, the physical offset stored in the record, field lengths that add
 * up to the total size, BODYCRC, and the record CRC property `__CRC32#` (see @tern/protocol's message-record.ts).
 *
 * It runs once per pulled message, so it reads the bytes in place: no subarray but the body view zlib needs (and
 * none for short bodies), no strings, no objects. The record CRC's short ranges (header, topic and properties) go
 * through the JavaScript CRC the writer uses; a native zlib call costs ~200 ns before it reads a byte.
 *
 * It accepts exactly the records @tern/protocol's checkRecordCrc(record, false) plus the scanner's field checks
 * accepted before it existed; test/record-check.test.ts compares the two byte flip by byte flip.
 */

/** Why a record was refused; NONE when it passed. */
export const RecordDefect = {
  NONE: 0,
  /** TOTALSIZE is not the size the record is read at, or below the smallest record. */
  SIZE: 1,
  MAGIC: 2,
  PHYSICAL_OFFSET: 3,
  HEADER: 4,
  BODY_LENGTH: 5,
  TOPIC: 6,
  FIELD_LENGTHS: 7,
  BODY_CRC: 8,
  /** The CRC property is absent, badly placed, not 10 digits, or does not match. */
  RECORD_CRC: 9,
} as const;
export type RecordDefect = (typeof RecordDefect)[keyof typeof RecordDefect];

/**
 * Below this many body bytes the JavaScript CRC beats a native call plus the view it needs. Measured on Node 20:
 * JavaScript ~0.8 ns per byte, zlib ~250 ns per call then ~0.2 ns per byte; they cross near 350 bytes.
 */
const BODY_NATIVE_CRC_MIN_BYTES = 320;
/** `__CRC32#\u0001` then 10 digits: the bytes the CRC property occupies at the end of the record. */
const CRC_PROPERTY_TAIL_BYTES = RECORD_CRC_PREFIX.length + RECORD_CRC_DIGITS;
const PROPERTY_SEPARATOR_BYTE = 0x02;

/**
 * Checks the record of `sizeBytes` at `at` in `bytes` (all of it in bounds), which the CommitLog holds at
 * `physicalOffset`. Returns RecordDefect.NONE when every check passes.
 */
export function recordDefect(bytes: Uint8Array, at: number, sizeBytes: number, physicalOffset: number): RecordDefect {
  if (!(sizeBytes >= RECORD_FIXED_BYTES_IPV4) || int32At(bytes, at) !== sizeBytes) return RecordDefect.SIZE;
  if (int32At(bytes, at + RecordField.MAGIC_CODE) !== MESSAGE_MAGIC_CODE) return RecordDefect.MAGIC;
  if (int64At(bytes, at + RecordField.PHYSICAL_OFFSET) !== physicalOffset) return RecordDefect.PHYSICAL_OFFSET;
  const end = at + sizeBytes;
  const bodyLengthAt = at + bodyLengthField(int32At(bytes, at + RecordField.SYS_FLAG));
  if (bodyLengthAt + 4 > end) return RecordDefect.HEADER;
  const bodyStart = bodyLengthAt + 4;
  const bodyLength = int32At(bytes, bodyLengthAt);
  const bodyEnd = bodyStart + bodyLength;
  if (bodyLength < 0 || bodyEnd + 1 > end) return RecordDefect.BODY_LENGTH;
  const propertiesLengthAt = bodyEnd + 1 + bytes[bodyEnd]!;
  if (propertiesLengthAt + 2 > end) return RecordDefect.TOPIC;
  const propertiesLength = ((bytes[propertiesLengthAt]! << 24) | (bytes[propertiesLengthAt + 1]! << 16)) >> 16;
  if (propertiesLength < 0 || propertiesLengthAt + 2 + propertiesLength !== end) return RecordDefect.FIELD_LENGTHS;
  const bodyCrc = bodyLength < BODY_NATIVE_CRC_MIN_BYTES
    ? crc32Range(bytes, bodyStart, bodyEnd)
    : crc32(bytes.subarray(bodyStart, bodyEnd));
  if ((bodyCrc & 0x7fffffff) !== int32At(bytes, at + RecordField.BODY_CRC)) return RecordDefect.BODY_CRC;
  return recordCrcMatches(bytes, at, bodyStart, bodyEnd, propertiesLengthAt + 2, end) ? RecordDefect.NONE : RecordDefect.RECORD_CRC;
}

/**
 * The record CRC property, checked as checkRecordCrc does: `__CRC32#\u0001` and 10 decimal digits end the record,
 * either as the first property or right after a property separator, and the digits are the CRC32 of the record's
 * bytes before them except the body. ("First property" is checkRecordCrc's test: the 2 bytes before the name read as
 * PROPSLEN 19.)
 */
function recordCrcMatches(bytes: Uint8Array, at: number, bodyStart: number, bodyEnd: number, propertiesStart: number, end: number): boolean {
  const digitsAt = end - RECORD_CRC_DIGITS;
  const nameAt = end - CRC_PROPERTY_TAIL_BYTES;
  // Properties shorter than the CRC property cannot hold it (and the name would overlap PROPSLEN, whose high byte is 0).
  if (nameAt < propertiesStart) return false;
  const prefix = RECORD_CRC_PREFIX;
  for (let i = 0; i < prefix.length; i++) if (bytes[nameAt + i] !== prefix[i]) return false;
  const before = bytes[nameAt - 1]!;
  if (before !== PROPERTY_SEPARATOR_BYTE && !(before === CRC_PROPERTY_TAIL_BYTES && bytes[nameAt - 2] === 0)) return false;
  let stored = 0;
  for (let i = digitsAt; i < end; i++) {
    const digit = bytes[i]! - 0x30;
    if (digit < 0 || digit > 9) return false;
    stored = stored * 10 + digit;
  }
  return stored === crc32Range(bytes, bodyEnd, digitsAt, crc32Range(bytes, at, bodyStart));
}

/** Words for a defect recordDefect reported: built only when a record is refused. */
export function describeRecordDefect(bytes: Uint8Array, at: number, sizeBytes: number, physicalOffset: number, defect: RecordDefect): string {
  switch (defect) {
    case RecordDefect.NONE: return 'no defect';
    case RecordDefect.SIZE:
      return sizeBytes >= 4 ? `record size field ${int32At(bytes, at)} where ${sizeBytes} bytes were read` : `record of ${sizeBytes} bytes`;
    case RecordDefect.MAGIC: return `bad magic code 0x${(int32At(bytes, at + RecordField.MAGIC_CODE) >>> 0).toString(16)}`;
    case RecordDefect.PHYSICAL_OFFSET:
      return `record at ${physicalOffset} says it is at ${int64At(bytes, at + RecordField.PHYSICAL_OFFSET)}`;
    case RecordDefect.HEADER: return 'header longer than the record';
    case RecordDefect.BODY_LENGTH: {
      const bodyLengthAt = at + bodyLengthField(int32At(bytes, at + RecordField.SYS_FLAG));
      return `body length ${int32At(bytes, bodyLengthAt)} past the record end`;
    }
    case RecordDefect.TOPIC: return 'topic past the record end';
    case RecordDefect.FIELD_LENGTHS: return 'field lengths do not add up to the record size';
    case RecordDefect.BODY_CRC: return 'body CRC mismatch';
    case RecordDefect.RECORD_CRC: return 'record CRC missing or mismatched';
  }
}

/** BODYLEN's position in a record with this sys flag: an IPv6 born or store host widens the header by 12 bytes each. */
function bodyLengthField(sysFlag: number): number {
  const bornHostIpBytes = sysFlag & MessageSysFlag.BORNHOST_V6 ? 16 : 4;
  const storeHostIpBytes = sysFlag & MessageSysFlag.STOREHOSTADDRESS_V6 ? 16 : 4;
  // BORNHOST ip+port, STORETIMESTAMP, STOREHOST ip+port, RECONSUMETIMES, PREPARED TRANSACTION OFFSET.
  return RecordField.BORN_HOST + bornHostIpBytes + 4 + 8 + storeHostIpBytes + 4 + 4 + 8;
}

/** Big-endian int32 read in place: Buffer.readInt32BE checks its argument on every call. */
function int32At(bytes: Uint8Array, at: number): number {
  return (bytes[at]! << 24) | (bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!;
}

function int64At(bytes: Uint8Array, at: number): number {
  return int32At(bytes, at) * 0x1_0000_0000 + (int32At(bytes, at + 4) >>> 0);
}
