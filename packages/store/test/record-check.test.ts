import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  BLANK_MAGIC_CODE, type HostAddress, MESSAGE_MAGIC_CODE, RECORD_FIXED_BYTES_IPV4, RecordField, bodyCrc32, checkRecordCrc,
  prepareMessageRecord, readInt64, recordLayout, writeMessageRecord,
} from '@tern/protocol';
import { seededRandom } from '@tern/common';
import { RecordDefect, describeRecordDefect, recordDefect } from '../src/recovery/record-check.js';
import { scanEntry } from '../src/recovery/record-scanner.js';
import { sealRecord } from '../src/commitlog/record-writer.js';

/*
 * record-check.ts replaced a check built from Buffer methods, strings and @tern/protocol's checkRecordCrc. These
 * tests damage records byte by byte and bit by bit and require the new read check (recordDefect), the recovery
 * scanner (scanEntry) and that earlier check (kept below as the reference) to accept and refuse the same records,
 * with the same reasons.
 */

/** Above 2^32, so both halves of PHYSICALOFFSET matter. */
const PHYSICAL_OFFSET = 5 * 0x1_0000_0000 + 123_457;
/** Bytes of unrelated data around the record in the chunk, as a pull body or a recovery read has. */
const NEIGHBOUR_BYTES = 37;
const SEGMENT_REMAINING_BYTES = 1 << 30;

const ipv4: HostAddress = { ip: Uint8Array.of(10, 1, 2, 3), port: 10911 };
const ipv6: HostAddress = { ip: Uint8Array.from({ length: 16 }, (_, i) => i * 17), port: 50123 };

interface Sample { name: string; record: Buffer; bodyStart: number }

function encoded(name: string, bodyBytes: number, properties: string, bornHost = ipv4, storeHost = ipv4, topic = 'pb_topic_w3_abcdef'): Sample {
  const body = Buffer.from(Array.from({ length: bodyBytes }, (_, i) => (i * 31 + bodyBytes) & 0xff));
  const parts = prepareMessageRecord({
    topic, queueId: 3, flag: 0, body, sysFlag: 0, bornTimestampMs: 1_700_000_000_000, bornHost, storeHost, reconsumeTimes: 0,
    preparedTransactionOffset: 0, properties,
  }, true);
  const record = Buffer.alloc(parts.totalSizeBytes);
  writeMessageRecord(record, 0, parts, { queueOffset: 77, physicalOffset: PHYSICAL_OFFSET, storeTimestampMs: 1_700_000_000_123 });
  return { name, record, bodyStart: recordLayout(record.readInt32BE(RecordField.SYS_FLAG)).bodyLengthAt + 4 };
}

/**
 * A record whose CRC property follows a property value ending in the bytes 0x00 0x13 with no separator: the earlier
 * check took those two bytes for PROPSLEN 19 and so for the CRC property being the first one. No writer produces
 * this; it pins the rule down.
 */
function crcAfterLengthLikeBytes(): Sample {
  const plain = prepareMessageRecord({
    topic: 'T', queueId: 0, flag: 0, body: Buffer.alloc(40, 7), sysFlag: 0, bornTimestampMs: 1, bornHost: ipv4, storeHost: ipv4,
    reconsumeTimes: 0, preparedTransactionOffset: 0, properties: 'A\u0001x\u0000\u0013__CRC32#\u00010000000000',
  }, false);
  const record = Buffer.alloc(plain.totalSizeBytes);
  writeMessageRecord(record, 0, plain, { queueOffset: 1, physicalOffset: PHYSICAL_OFFSET, storeTimestampMs: 2 });
  const bodyStart = recordLayout(0).bodyLengthAt + 4;
  sealRecord(record, 0, bodyStart, bodyStart + 40, record.length);
  return { name: 'crc after 0x00 0x13', record, bodyStart };
}

const SAMPLES: Sample[] = [
  encoded('1 KiB body, bench-like properties', 1024, 'UNIQ_KEY\u00017F00000100010000000000000000002A\u0002WAIT\u0001true'),
  encoded('short body, CRC as the only property', 100, ''),
  encoded('empty body', 0, 'TAGS\u0001a'),
  encoded('IPv6 hosts, body at the native CRC threshold', 320, 'KEYS\u0001k1 k2', ipv6, ipv6),
  encoded('IPv6 born host, body just below the threshold', 319, 'TAGS\u0001tag', ipv6, ipv4),
  encoded('IPv6 store host, multibyte properties and topic', 300, 'KEYS\u0001clé ключ\u0002TAGS\u0001标签', ipv4, ipv6, 'topic-ü'),
  crcAfterLengthLikeBytes(),
];

/** The record check as it was before record-check.ts: scanEntry with Buffer methods and checkRecordCrc. */
function scanEntryBefore(chunk: Buffer, position: number, chunkPhysicalOffset: number, segmentRemainingBytes: number): { kind: string; sizeBytes?: number; reason?: string } {
  const available = chunk.length - position;
  if (available < 8) return available >= 4 && chunk.readInt32BE(position) === 0 ? { kind: 'end' } : { kind: 'need-more', sizeBytes: 8 };
  const totalSize = chunk.readInt32BE(position);
  const magic = chunk.readInt32BE(position + 4);
  if (totalSize === 0 && magic === 0) return { kind: 'end' };
  if (magic === BLANK_MAGIC_CODE) {
    if (totalSize !== segmentRemainingBytes) return { kind: 'corrupt', reason: `BLANK filler of ${totalSize} bytes where ${segmentRemainingBytes} remain in the segment` };
    return { kind: 'blank', sizeBytes: totalSize };
  }
  if (magic !== MESSAGE_MAGIC_CODE) return { kind: 'corrupt', reason: `bad magic code 0x${(magic >>> 0).toString(16)}` };
  if (totalSize < RECORD_FIXED_BYTES_IPV4 || totalSize > segmentRemainingBytes - 8) {
    return { kind: 'corrupt', reason: `record size ${totalSize} outside [${RECORD_FIXED_BYTES_IPV4}, ${segmentRemainingBytes - 8}]` };
  }
  if (available < totalSize) return { kind: 'need-more', sizeBytes: totalSize };
  const record = chunk.subarray(position, position + totalSize);
  const physicalOffset = chunkPhysicalOffset + position;
  if (readInt64(record, RecordField.PHYSICAL_OFFSET) !== physicalOffset) {
    return { kind: 'corrupt', reason: `record at ${physicalOffset} says it is at ${readInt64(record, RecordField.PHYSICAL_OFFSET)}` };
  }
  const layout = recordLayout(record.readInt32BE(RecordField.SYS_FLAG));
  if (layout.bodyLengthAt + 4 > totalSize) return { kind: 'corrupt', reason: 'header longer than the record' };
  const bodyLength = record.readInt32BE(layout.bodyLengthAt);
  const topicLengthAt = layout.bodyLengthAt + 4 + bodyLength;
  if (bodyLength < 0 || topicLengthAt + 1 > totalSize) return { kind: 'corrupt', reason: `body length ${bodyLength} past the record end` };
  const propertiesLengthAt = topicLengthAt + 1 + record.readUInt8(topicLengthAt);
  if (propertiesLengthAt + 2 > totalSize) return { kind: 'corrupt', reason: 'topic past the record end' };
  const propertiesLength = record.readInt16BE(propertiesLengthAt);
  if (propertiesLength < 0 || propertiesLengthAt + 2 + propertiesLength !== totalSize) {
    return { kind: 'corrupt', reason: 'field lengths do not add up to the record size' };
  }
  const bodyStart = layout.bodyLengthAt + 4;
  if (bodyCrc32(record.subarray(bodyStart, bodyStart + bodyLength)) !== record.readInt32BE(RecordField.BODY_CRC)) {
    return { kind: 'corrupt', reason: 'body CRC mismatch' };
  }
  if (checkRecordCrc(record, false) !== 'ok') return { kind: 'corrupt', reason: 'record CRC missing or mismatched' };
  return { kind: 'record', sizeBytes: totalSize };
}

/** `record` placed between neighbour bytes, as the chunk a scan or a pull reads. */
function inChunk(record: Buffer): { chunk: Buffer; at: number; chunkPhysicalOffset: number } {
  const random = seededRandom(record.length);
  const chunk = Buffer.alloc(NEIGHBOUR_BYTES + record.length + NEIGHBOUR_BYTES);
  for (let i = 0; i < chunk.length; i++) chunk[i] = Math.floor(random() * 256);
  record.copy(chunk, NEIGHBOUR_BYTES);
  return { chunk, at: NEIGHBOUR_BYTES, chunkPhysicalOffset: PHYSICAL_OFFSET - NEIGHBOUR_BYTES };
}

/**
 * Judges the record at `at` (`sizeBytes` long by its ConsumeQueue unit) three ways and requires them to agree:
 * the earlier check, the recovery scanner with and without dispatch, and the read path's recordDefect. Returns
 * whether they accepted it.
 */
function judgeAll(chunk: Buffer, at: number, chunkPhysicalOffset: number, sizeBytes: number, what: string): boolean {
  const before = scanEntryBefore(chunk, at, chunkPhysicalOffset, SEGMENT_REMAINING_BYTES);
  for (const withDispatch of [true, false]) {
    const now = scanEntry(chunk, at, chunkPhysicalOffset, SEGMENT_REMAINING_BYTES, withDispatch);
    assert.equal(now.kind, before.kind, `${what}: scanner kind (withDispatch ${withDispatch})`);
    if (now.kind === 'corrupt') assert.equal(now.reason, before.reason, `${what}: scanner reason`);
    if (now.kind === 'record' || now.kind === 'need-more' || now.kind === 'blank') assert.equal(now.sizeBytes, before.sizeBytes, `${what}: scanner size`);
  }
  // The read path before: scanEntry on the record's view with no segment bound, and the size the unit gave.
  const view = chunk.subarray(at, Math.min(chunk.length, at + Math.max(0, sizeBytes)));
  const readBefore = scanEntryBefore(view, 0, chunkPhysicalOffset + at, Number.MAX_SAFE_INTEGER);
  const readAcceptedBefore = readBefore.kind === 'record' && readBefore.sizeBytes === sizeBytes;
  const defect = recordDefect(chunk, at, sizeBytes, chunkPhysicalOffset + at);
  assert.equal(defect === RecordDefect.NONE, readAcceptedBefore, `${what}: read check (defect ${defect})`);
  if (defect !== RecordDefect.NONE) {
    const reason = describeRecordDefect(chunk, at, sizeBytes, chunkPhysicalOffset + at, defect);
    if (readBefore.kind === 'corrupt' && defect > RecordDefect.MAGIC) assert.equal(reason, readBefore.reason, `${what}: read reason`);
  }
  return readAcceptedBefore;
}

describe('record check (read path) and recovery scanner', () => {
  for (const sample of SAMPLES) {
    describe(sample.name, () => {
      const size = sample.record.length;

      it('accepts the record as written', () => {
        const { chunk, at, chunkPhysicalOffset } = inChunk(sample.record);
        assert.equal(judgeAll(chunk, at, chunkPhysicalOffset, size, 'intact'), true);
      });

      it('refuses every single flipped bit, as the earlier check did', () => {
        const { chunk, at, chunkPhysicalOffset } = inChunk(sample.record);
        for (let byte = 0; byte < size; byte++) {
          for (let bit = 0; bit < 8; bit++) {
            chunk[at + byte]! ^= 1 << bit;
            assert.equal(judgeAll(chunk, at, chunkPhysicalOffset, size, `byte ${byte} bit ${bit}`), false, `byte ${byte} bit ${bit} undetected`);
            chunk[at + byte]! ^= 1 << bit;
          }
        }
      });

      it('judges every byte replaced by random values as the earlier check did', () => {
        const { chunk, at, chunkPhysicalOffset } = inChunk(sample.record);
        const random = seededRandom(size * 7 + 1);
        for (let byte = 0; byte < size; byte++) {
          const original = chunk[at + byte]!;
          for (const value of [0x00, 0xff, Math.floor(random() * 256), Math.floor(random() * 256)]) {
            chunk[at + byte] = value;
            judgeAll(chunk, at, chunkPhysicalOffset, size, `byte ${byte} = ${value}`);
          }
          chunk[at + byte] = original;
        }
      });

      it('judges every value of the size, flag and length fields as the earlier check did', () => {
        const { chunk, at, chunkPhysicalOffset } = inChunk(sample.record);
        const bodyLengthAt = sample.bodyStart - 4;
        const bodyEnd = sample.bodyStart + sample.record.readInt32BE(bodyLengthAt);
        const propertiesLengthAt = bodyEnd + 1 + sample.record[bodyEnd]!;
        const crcNameAt = size - 19;
        const fields = [
          0, 1, 2, 3, RecordField.SYS_FLAG + 3, bodyLengthAt, bodyLengthAt + 1, bodyLengthAt + 2, bodyLengthAt + 3, bodyEnd,
          propertiesLengthAt, propertiesLengthAt + 1, crcNameAt - 2, crcNameAt - 1, size - 1,
        ];
        for (const byte of fields) {
          const original = chunk[at + byte]!;
          for (let value = 0; value < 256; value++) {
            chunk[at + byte] = value;
            judgeAll(chunk, at, chunkPhysicalOffset, size, `byte ${byte} = ${value}`);
          }
          chunk[at + byte] = original;
        }
      });

      it('refuses a ConsumeQueue size that is not the record size, and a chunk that ends inside the record', () => {
        const { chunk, at, chunkPhysicalOffset } = inChunk(sample.record);
        for (const sizeBytes of [0, 4, 8, RECORD_FIXED_BYTES_IPV4 - 1, size - 1, size + 1, size + NEIGHBOUR_BYTES]) {
          assert.equal(judgeAll(chunk, at, chunkPhysicalOffset, sizeBytes, `unit size ${sizeBytes}`), false);
        }
        for (const cut of [0, 3, 4, 8, 90, size - 1]) {
          const short = chunk.subarray(0, at + cut);
          assert.notEqual(scanEntry(short, at, chunkPhysicalOffset, SEGMENT_REMAINING_BYTES).kind, 'record');
          assert.deepEqual(
            pick(scanEntry(short, at, chunkPhysicalOffset, SEGMENT_REMAINING_BYTES)),
            pick(scanEntryBefore(short, at, chunkPhysicalOffset, SEGMENT_REMAINING_BYTES)),
            `cut at ${cut}`,
          );
        }
      });

      it('refuses the record at another physical offset', () => {
        const { chunk, at, chunkPhysicalOffset } = inChunk(sample.record);
        for (const shift of [-1, 1, 0x1_0000_0000, -0x1_0000_0000]) {
          assert.equal(judgeAll(chunk, at, chunkPhysicalOffset + shift, size, `offset shifted by ${shift}`), false);
        }
      });
    });
  }

  it('refuses random multi-byte damage as the earlier check did', () => {
    const random = seededRandom(20261123);
    for (let round = 0; round < 4000; round++) {
      const sample = SAMPLES[round % SAMPLES.length]!;
      const { chunk, at, chunkPhysicalOffset } = inChunk(sample.record);
      const damaged = 2 + Math.floor(random() * 4);
      for (let i = 0; i < damaged; i++) chunk[at + Math.floor(random() * sample.record.length)] = Math.floor(random() * 256);
      judgeAll(chunk, at, chunkPhysicalOffset, sample.record.length, `round ${round}`);
    }
  });
});

function pick(entry: { kind: string; sizeBytes?: number; reason?: string }): { kind: string; sizeBytes?: number; reason?: string } {
  const picked: { kind: string; sizeBytes?: number; reason?: string } = { kind: entry.kind };
  if ('sizeBytes' in entry) picked.sizeBytes = entry.sizeBytes;
  if ('reason' in entry) picked.reason = entry.reason;
  return picked;
}
