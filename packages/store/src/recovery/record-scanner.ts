import {
  BLANK_MAGIC_CODE, MESSAGE_MAGIC_CODE, MessageProperty, RECORD_FIXED_BYTES_IPV4, RecordField, findProperty, javaStringHashCode,
  readInt64, recordLayout,
} from '@tern/protocol';
import type { DispatchRequest } from '../dispatch-request.js';
import { indexKeyHash } from '../index/index-file.js';
import { RecordDefect, describeRecordDefect, recordDefect } from './record-check.js';

/** Stands in for the dispatch fields when a reader only needs the record checked. */
const NO_DISPATCH: DispatchRequest = Object.freeze({
  topic: '', queueId: -1, queueOffset: -1, physicalOffset: -1, sizeBytes: 0, tagsCode: 0, keys: undefined, uniqKeyHash: -1,
  storeTimestampMs: 0, sysFlag: 0, delayLevel: 0,
});

/** What one position of the CommitLog holds, judged without trusting any of its bytes. */
export type ScannedEntry =
  | { kind: 'record'; sizeBytes: number; dispatch: DispatchRequest }
  | { kind: 'blank'; sizeBytes: number }
  | { kind: 'end' }
  | { kind: 'corrupt'; reason: string }
  /** The record continues past the bytes given: read more and look again. */
  | { kind: 'need-more'; sizeBytes: number };

/**
 * Checks the entry at `position` of `chunk`, which holds CommitLog bytes from `chunkPhysicalOffset`.
 * `segmentRemainingBytes` bounds every length before anything is sliced, so garbage can never make us allocate or
 * read far. A record is accepted only if its magic, sizes, physical offset, body CRC and whole-record CRC agree
 * (record-check.ts, which the read path runs too).
 */
export function scanEntry(
  chunk: Buffer,
  position: number,
  chunkPhysicalOffset: number,
  segmentRemainingBytes: number,
  withDispatch = true,
): ScannedEntry {
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
  const physicalOffset = chunkPhysicalOffset + position;
  const defect = recordDefect(chunk, position, totalSize, physicalOffset);
  if (defect !== RecordDefect.NONE) return { kind: 'corrupt', reason: describeRecordDefect(chunk, position, totalSize, physicalOffset, defect) };
  if (!withDispatch) return { kind: 'record', sizeBytes: totalSize, dispatch: NO_DISPATCH };
  return { kind: 'record', sizeBytes: totalSize, dispatch: dispatchOf(chunk.subarray(position, position + totalSize), physicalOffset) };
}

/** The dispatch fields of a record recordDefect accepted. */
function dispatchOf(record: Buffer, physicalOffset: number): DispatchRequest {
  const totalSize = record.length;
  const sysFlag = record.readInt32BE(RecordField.SYS_FLAG);
  const layout = recordLayout(sysFlag);
  const topicLengthAt = layout.bodyLengthAt + 4 + record.readInt32BE(layout.bodyLengthAt);
  const propertiesLengthAt = topicLengthAt + 1 + record.readUInt8(topicLengthAt);
  const properties = record.toString('utf8', propertiesLengthAt + 2, totalSize);
  const tags = findProperty(properties, MessageProperty.TAGS);
  const topic = record.toString('utf8', topicLengthAt + 1, propertiesLengthAt);
  const uniqKey = findProperty(properties, MessageProperty.UNIQ_CLIENT_MESSAGE_ID_KEYIDX);
  return {
    topic,
    queueId: record.readInt32BE(RecordField.QUEUE_ID),
    queueOffset: readInt64(record, RecordField.QUEUE_OFFSET),
    physicalOffset,
    sizeBytes: totalSize,
    tagsCode: tags === undefined ? 0 : javaStringHashCode(tags),
    keys: findProperty(properties, MessageProperty.KEYS),
    uniqKeyHash: uniqKey === undefined ? -1 : indexKeyHash(topic, uniqKey),
    storeTimestampMs: readInt64(record, layout.storeTimestampAt),
    sysFlag,
    delayLevel: parseDelayLevel(findProperty(properties, MessageProperty.DELAY_TIME_LEVEL)),
  };
}

/** The DELAY property as a level; 0 for none or anything unparsable. */
export function parseDelayLevel(value: string | undefined): number {
  if (value === undefined) return 0;
  const level = Number(value);
  return Number.isInteger(level) && level > 0 ? level : 0;
}
