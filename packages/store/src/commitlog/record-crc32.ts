/**
 * CRC-32 (the zlib / java.util.zip polynomial) of a byte range, in JavaScript, slicing by 8.
 *
 * Why not node:zlib's crc32: each call costs ~200 ns before it reads a byte (argument checks and a binding call),
 * and the record CRC is two short ranges per record (the header before the body, then topic and properties: ~250
 * bytes in all). Sliced tables do those in about half the time of the two native calls. The body (1 KiB and more)
 * still goes to zlib, which is faster per byte.
 */

/** TABLES[k * 256 + b]: the CRC of byte b followed by k zero bytes. */
const TABLES = buildTables();

function buildTables(): Int32Array {
  const tables = new Int32Array(256 * 8);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    tables[n] = c;
  }
  for (let n = 0; n < 256; n++) {
    for (let k = 1; k < 8; k++) {
      const previous = tables[(k - 1) * 256 + n]!;
      tables[k * 256 + n] = tables[previous & 0xff]! ^ (previous >>> 8);
    }
  }
  return tables;
}

/**
 * crc32(bytes[start, end)), continuing from `crc` (the unsigned result of an earlier call, 0 to start): the same
 * value zlib's crc32(bytes.subarray(start, end), crc) returns.
 */
export function crc32Range(bytes: Uint8Array, start: number, end: number, crc = 0): number {
  const t = TABLES;
  let c = ~crc;
  let i = start;
  for (; i + 8 <= end; i += 8) {
    const word = c ^ (bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24));
    c = t[1792 + (word & 0xff)]! ^ t[1536 + ((word >>> 8) & 0xff)]! ^ t[1280 + ((word >>> 16) & 0xff)]! ^ t[1024 + (word >>> 24)]!
      ^ t[768 + bytes[i + 4]!]! ^ t[512 + bytes[i + 5]!]! ^ t[256 + bytes[i + 6]!]! ^ t[bytes[i + 7]!]!;
  }
  for (; i < end; i++) c = t[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}
