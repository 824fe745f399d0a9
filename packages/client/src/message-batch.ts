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
  const propertiesBytes = new Array<number>(entries.length);
  let total = 0;
  for (let i = 0; i < entries.length; i++) {
    const entry = entries[i]!;
    const bytes = Buffer.byteLength(entry.properties, 'utf8');
    if (bytes > 0x7fff) throw new RangeError(`batch entry ${i}: properties take ${bytes} bytes, more than 32767`);
    propertiesBytes[i] = bytes;
    total += BATCH_ENTRY_FIXED_BYTES + entry.body.length + bytes;
  }
  const writer = new BatchBodyWriter(total);
  for (let i = 0; i < entries.length; i++) {
    const entry = entries[i]!;
    writer.writeText(entry.properties, writer.beginEntry(entry.flag, entry.body, propertiesBytes[i]!), propertiesBytes[i]!);
  }
  return writer.finish();
}

/**
 * Writes a batch body whose size is known beforehand, one entry at a time: `beginEntry` writes the fixed fields and
 * the body, then the caller writes exactly the announced property bytes (`writeText`, or bytes of its own) before
 * the next entry. Properties go straight into the body, with no intermediate Buffer per entry.
 */
export class BatchBodyWriter {
  readonly body: Buffer;
  /** The fixed fields go through a DataView: big-endian stores the compiler inlines. */
  private readonly view: DataView;
  private at = 0;
  /** Where the current entry's properties end: the next entry starts there. */
  private entryEnd = 0;

  constructor(totalBytes: number) {
    this.body = Buffer.allocUnsafe(totalBytes);
    this.view = new DataView(this.body.buffer, this.body.byteOffset, this.body.length);
  }

  /** Writes an entry up to its properties; returns where its `propertiesBytes` property bytes go. */
  beginEntry(flag: number, body: Uint8Array, propertiesBytes: number): number {
    const at = this.at;
    if (at !== this.entryEnd) throw new RangeError(`batch body: the previous entry's properties end at ${this.entryEnd}, not ${at}`);
    if (!(propertiesBytes >= 0 && propertiesBytes <= 0x7fff)) throw new RangeError(`batch body: ${propertiesBytes} property bytes`);
    const bodyBytes = body.length;
    const view = this.view;
    view.setInt32(at, BATCH_ENTRY_FIXED_BYTES + bodyBytes + propertiesBytes);
    view.setInt32(at + 4, 0); // magic and bodyCRC: the broker fills them in
    view.setInt32(at + 8, 0);
    view.setInt32(at + 12, flag);
    view.setInt32(at + 16, bodyBytes);
    this.body.set(body, at + 20);
    view.setInt16(at + 20 + bodyBytes, propertiesBytes);
    const propertiesAt = at + BATCH_ENTRY_FIXED_BYTES + bodyBytes;
    this.at = propertiesAt;
    this.entryEnd = propertiesAt + propertiesBytes;
    return propertiesAt;
  }

  /** Writes `text` (`bytes` bytes of UTF-8) at `at` of the current entry's properties; returns where it ends. */
  writeText(text: string, at: number, bytes: number): number {
    const out = this.body;
    if (bytes === text.length && bytes <= SHORT_ASCII_CHARS_MAX) {
      // As many bytes as characters: ASCII. Short texts are copied here, cheaper than a call into the encoder.
      for (let i = 0; i < bytes; i++) out[at + i] = text.charCodeAt(i);
    } else if (out.write(text, at, bytes, 'utf8') !== bytes) {
      throw new RangeError(`batch body: properties of ${bytes} bytes announced, fewer written`);
    }
    return this.wrote(at + bytes);
  }

  /** Records that the caller wrote the current entry's property bytes up to `end`; returns `end`. */
  wrote(end: number): number {
    if (end > this.entryEnd) throw new RangeError(`batch body: properties written up to ${end}, past the announced ${this.entryEnd}`);
    this.at = end;
    return end;
  }

  /** The body, once every entry is complete. */
  finish(): Buffer {
    if (this.at !== this.body.length || this.at !== this.entryEnd) {
      throw new RangeError(`batch body: ${this.at} of ${this.body.length} bytes written`);
    }
    return this.body;
  }
}

/** ASCII texts up to this many characters are copied by a loop rather than the UTF-8 encoder. */
const SHORT_ASCII_CHARS_MAX = 64;
