/*
 * The body of SEND_BATCH_MESSAGE (320): every message of the batch encoded by RocketMQ's
 * MessageDecoder.encodeMessages, back to back. Big-endian:
 *
 * ┌──────────────┬──────────┬───────────┬─────────┬────────────┬──────┬──────────────┬────────────┐
 * │ totalSize 4  │ magic 4  │ bodyCRC 4 │ flag 4  │ bodyLen 4  │ body │ propsLen 2   │ properties │
 * │ (incl. self) │ (0)      │ (0)       │         │            │      │ (int16)      │ (UTF-8)    │
 * └──────────────┴──────────┴───────────┴─────────┴────────────┴──────┴──────────────┴────────────┘
 *
 * The broker fills in magic and CRC when it stores each message; the client writes zeros, as Java does.
 */

/** Bytes of one batch entry besides its body and properties. */
export const BATCH_ENTRY_FIXED_BYTES = 22;

export interface BatchEntry {
  flag: number;
  body: Uint8Array;
  /** The encoded properties string (encodeProperties). */
  properties: string;
}

/** Encodes `entries` as one SEND_BATCH_MESSAGE body. Throws RangeError for properties beyond 32767 bytes. */
export function encodeBatchMessages(entries: readonly BatchEntry[]): Buffer {
  const encodedProperties = entries.map((entry) => Buffer.from(entry.properties, 'utf8'));
  let total = 0;
  entries.forEach((entry, i) => {
    const properties = encodedProperties[i]!;
    if (properties.length > 0x7fff) throw new RangeError(`batch entry ${i}: properties take ${properties.length} bytes, more than 32767`);
    total += BATCH_ENTRY_FIXED_BYTES + entry.body.length + properties.length;
  });
  const out = Buffer.allocUnsafe(total);
  let at = 0;
  entries.forEach((entry, i) => {
    const properties = encodedProperties[i]!;
    const size = BATCH_ENTRY_FIXED_BYTES + entry.body.length + properties.length;
    at = out.writeInt32BE(size, at);
    at = out.writeInt32BE(0, at);
    at = out.writeInt32BE(0, at);
    at = out.writeInt32BE(entry.flag, at);
    at = out.writeInt32BE(entry.body.length, at);
    out.set(entry.body, at);
    at += entry.body.length;
    at = out.writeInt16BE(properties.length, at);
    at += properties.copy(out, at);
  });
  return out;
}
