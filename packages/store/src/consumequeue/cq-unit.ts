/*
 * ConsumeQueue unit, 20 bytes, big-endian (RocketMQ ConsumeQueue.java):
 * ┌───────────────────────────┬───────────────┬──────────────────────────┐
 * │ CommitLog physical offset │ record size   │ tag hash code            │
 * │ int64                     │ int32         │ int64                    │
 * └───────────────────────────┴───────────────┴──────────────────────────┘
 * The tag code is Java's String.hashCode of TAGS (0 without a tag), or the delivery time for delay queues.
 * A hole left by lost units is filled with (0, HOLE_SIZE_BYTES, 0), as RocketMQ does, and skipped on read.
 */
export const CQ_UNIT_SIZE_BYTES = 20;
export const HOLE_SIZE_BYTES = 0x7fffffff;

export interface CqUnit {
  physicalOffset: number;
  sizeBytes: number;
  tagsCode: number;
}

export function writeCqUnit(target: Buffer, position: number, unit: CqUnit): void {
  target.writeInt32BE(Math.floor(unit.physicalOffset / 0x1_0000_0000), position);
  target.writeUInt32BE(unit.physicalOffset >>> 0, position + 4);
  target.writeInt32BE(unit.sizeBytes, position + 8);
  // A tag code is an int32 hash or a delivery time (below 2^53): two int32 halves, no BigInt per unit.
  target.writeInt32BE(Math.floor(unit.tagsCode / 0x1_0000_0000), position + 12);
  target.writeUInt32BE(unit.tagsCode >>> 0, position + 16);
}

export function readCqUnit(source: Buffer, position: number): CqUnit {
  return {
    physicalOffset: source.readInt32BE(position) * 0x1_0000_0000 + source.readUInt32BE(position + 4),
    sizeBytes: source.readInt32BE(position + 8),
    tagsCode: Number(source.readBigInt64BE(position + 12)),
  };
}
