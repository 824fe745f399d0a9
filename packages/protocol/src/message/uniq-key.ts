import { networkInterfaces } from 'node:os';
import { randomInt } from 'node:crypto';
import { ProtocolError } from '@tern/common';

/*
 * UNIQ_KEY, the client message id Java producers put in the `UNIQ_KEY` property (RocketMQ 4.9's
 * MessageClientIDSetter). Uppercase hex of, big-endian:
 *
 *   client IP (4 bytes; 16 for a Java client on an IPv6-only host) + pid (int16, low 16 bits)
 *   + classloader hash (int32; here a random int32 per generator)            ← fixed prefix
 *   + milliseconds since the first millisecond of the current month, local time (int32, wraps after ~24.8 days,
 *     read back unsigned) + counter (int16, wraps)                              ← per message
 *
 * 32 characters with an IPv4 address (56 with IPv6). Java clients show it as the message's msgId.
 */

export const UNIQ_KEY_CHARS_IPV4 = 32;
export const UNIQ_KEY_CHARS_IPV6 = 56;

export interface UniqKeyGeneratorOptions {
  /** The client's IPv4 address (4 bytes). Default: the first non-internal IPv4 of this host, else 127.0.0.1. */
  ipv4?: Uint8Array;
  /** Default: process.pid. Only its low 16 bits are kept, as Java's `(short) pid`. */
  pid?: number;
  /**
   * A random number in [0, 1), like Math.random; drawn once per generator to make the prefix's int32 that Java
   * fills with its classloader hash. Default: node:crypto's randomInt.
   */
  random?: () => number;
  /** Wall clock in ms since the epoch. Default: Date.now. */
  nowMs?: () => number;
}

export interface UniqKeyGenerator {
  /** The next id: 32 uppercase hex characters. */
  next(): string;
  /**
   * The next id as `next()` makes it, also written as 32 ASCII bytes at `target[at]` (producers write it straight
   * into a request body without encoding the string). Throws RangeError when the 32 bytes do not fit.
   */
  nextInto(target: Uint8Array, at: number): string;
  /** The fixed first 20 characters of every id this generator makes (ip + pid + random). */
  readonly prefix: string;
}

export interface DecodedUniqKey {
  /** 4 bytes (16 for an IPv6 Java client). */
  ip: Uint8Array;
  /** The low 16 bits of the producer's pid, unsigned. */
  pid: number;
  /** The classloader-hash slot, as a signed int32. */
  random: number;
  /** Milliseconds since the start of the month the id was made in (unsigned 32-bit). */
  monthOffsetMs: number;
  /** The counter, unsigned 16-bit. */
  counter: number;
}

const HEX = '0123456789ABCDEF';
/** ASCII codes of the hex digits. */
const HEX_CODES = Uint8Array.from(HEX, (digit) => digit.charCodeAt(0));
/** Characters of an IPv4 id before the counter: ip, pid, random, time field. */
const TIMED_PREFIX_CHARS = UNIQ_KEY_CHARS_IPV4 - 4;
/** Two uppercase hex digits of every byte value. */
const HEX_BYTE: readonly string[] = Array.from({ length: 256 }, (_, byte) => HEX[byte >>> 4]! + HEX[byte & 0xf]!);

function hex(value: number, digits: number): string {
  let out = '';
  for (let shift = (digits - 1) * 4; shift >= 0; shift -= 4) out += HEX[(value >>> shift) & 0xf];
  return out;
}

/** The first millisecond of the local-time month holding `ms`, and of the month after it (Java's Calendar). */
function monthBounds(ms: number, monthDelta = 0): { start: number; next: number } {
  const date = new Date(ms);
  const year = date.getFullYear();
  const month = date.getMonth() + monthDelta;
  return { start: new Date(year, month, 1, 0, 0, 0, 0).getTime(), next: new Date(year, month + 1, 1, 0, 0, 0, 0).getTime() };
}

function defaultIpv4(): Uint8Array {
  try {
    for (const addresses of Object.values(networkInterfaces())) {
      for (const address of addresses ?? []) {
        // `family` is the number 4 on Node 18.0–18.3.
        const family: unknown = address.family;
        if ((family === 'IPv4' || family === 4) && !address.internal) {
          const parts = address.address.split('.').map(Number);
          if (parts.length === 4 && parts.every((p) => Number.isInteger(p) && p >= 0 && p <= 255)) {
            return Uint8Array.from(parts);
          }
        }
      }
    }
  } catch {
    // networkInterfaces() throws where the system call is not allowed (some sandboxes); fall back below.
  }
  return Uint8Array.of(127, 0, 0, 1);
}

/**
 * Creates a UNIQ_KEY generator like Java's MessageClientIDSetter.createUniqID. Each generator has its own prefix
 * (its random part differs) and counter. Unlike Java, the time field never goes backwards within a month, and when
 * the 16-bit counter wraps the time field moves past every value the previous counter cycle used, so a generator
 * never repeats an id even at more than 65,536 ids per millisecond or when the clock steps back.
 */
export function createUniqKeyGenerator(options: UniqKeyGeneratorOptions = {}): UniqKeyGenerator {
  const ip = options.ipv4 ?? defaultIpv4();
  if (ip.length !== 4) throw new RangeError(`ipv4 must be 4 bytes, got ${ip.length}`);
  const pid = (options.pid ?? process.pid) & 0xffff;
  const random = options.random ? Math.floor(options.random() * 0x1_0000_0000) | 0 : randomInt(0x1_0000_0000) | 0;
  const nowMs = options.nowMs ?? Date.now;

  let prefix = '';
  for (const byte of ip) prefix += hex(byte, 2);
  prefix += hex(pid, 4) + hex(random, 8);

  let { start: startTime, next: nextStartTime } = monthBounds(nowMs());
  let counter = 0;
  /** The least time offset the next id may carry: keeps offsets monotonic and separates counter cycles. */
  let floorOffset = 0;
  let lastOffset = 0;
  // The prefix and time field, as text and as ASCII bytes, rebuilt only when the offset changes (once per millisecond
  // at most): per id only the counter's four digits are added.
  let timedOffset = -1;
  let timedPrefix = '';
  const timedBytes = new Uint8Array(TIMED_PREFIX_CHARS);
  for (let i = 0; i < prefix.length; i++) timedBytes[i] = prefix.charCodeAt(i);

  /** The counter of the next id, after moving the time field as the counter and clock require. */
  function advance(): number {
    const now = nowMs();
    if (now >= nextStartTime) {
      ({ start: startTime, next: nextStartTime } = monthBounds(now));
      floorOffset = 0;
    }
    if (counter === 0x10000) {
      counter = 0;
      floorOffset = lastOffset + 1;
    }
    const offset = Math.max(now - startTime, floorOffset);
    floorOffset = offset;
    lastOffset = offset;
    if (offset !== timedOffset) {
      timedOffset = offset;
      const time = hex(offset, 8);
      timedPrefix = prefix + time;
      for (let i = 0; i < 8; i++) timedBytes[prefix.length + i] = time.charCodeAt(i);
    }
    return counter++;
  }

  return {
    prefix,
    next(): string {
      const count = advance();
      return timedPrefix + HEX_BYTE[count >>> 8]! + HEX_BYTE[count & 0xff]!;
    },
    nextInto(target: Uint8Array, at: number): string {
      if (!(at >= 0 && at + UNIQ_KEY_CHARS_IPV4 <= target.length)) throw new RangeError(`no room for a UNIQ_KEY at ${at} of ${target.length} bytes`);
      const count = advance();
      for (let i = 0; i < TIMED_PREFIX_CHARS; i++) target[at + i] = timedBytes[i]!;
      const end = at + TIMED_PREFIX_CHARS;
      target[end] = HEX_CODES[count >>> 12]!;
      target[end + 1] = HEX_CODES[(count >>> 8) & 0xf]!;
      target[end + 2] = HEX_CODES[(count >>> 4) & 0xf]!;
      target[end + 3] = HEX_CODES[count & 0xf]!;
      return timedPrefix + HEX_BYTE[count >>> 8]! + HEX_BYTE[count & 0xff]!;
    },
  };
}

/** Splits a UNIQ_KEY into its fields; a string that is not 32 or 56 hex characters is a ProtocolError. */
export function decodeUniqKey(uniqKey: string): DecodedUniqKey {
  if (!/^[0-9A-Fa-f]+$/.test(uniqKey) || (uniqKey.length !== UNIQ_KEY_CHARS_IPV4 && uniqKey.length !== UNIQ_KEY_CHARS_IPV6)) {
    throw new ProtocolError(`invalid UNIQ_KEY ${JSON.stringify(uniqKey)}: want 32 or 56 hex characters`);
  }
  const bytes = Buffer.from(uniqKey, 'hex');
  const ipLength = bytes.length - 12;
  return {
    ip: Uint8Array.from(bytes.subarray(0, ipLength)),
    pid: bytes.readUInt16BE(ipLength),
    random: bytes.readInt32BE(ipLength + 2),
    monthOffsetMs: bytes.readUInt32BE(ipLength + 6),
    counter: bytes.readUInt16BE(ipLength + 10),
  };
}

/**
 * The approximate time a UNIQ_KEY was made, as Java's MessageClientIDSetter.getNearlyTimeFromID: the offset is
 * taken from the start of the current month, or of the previous month when that would be after `nowMs` (Java
 * also moves an id made in the very millisecond of `nowMs` a month back; this does not).
 */
export function decodeUniqKeyTimestampMs(uniqKey: string, nowMs: number = Date.now()): number {
  const { monthOffsetMs } = decodeUniqKey(uniqKey);
  const { start } = monthBounds(nowMs);
  if (start + monthOffsetMs > nowMs) return monthBounds(nowMs, -1).start + monthOffsetMs;
  return start + monthOffsetMs;
}
