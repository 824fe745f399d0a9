import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ProtocolError } from '@tern/common';
import { createUniqKeyGenerator, decodeUniqKey, decodeUniqKeyTimestampMs } from '../src/index.js';

const HEX32 = /^[0-9A-F]{32}$/;
const IP = Uint8Array.of(192, 168, 1, 20);

/** Milliseconds since the first ms of `ms`'s month in local time, computed the plain way. */
function monthOffset(ms: number): number {
  const d = new Date(ms);
  return ms - new Date(d.getFullYear(), d.getMonth(), 1).getTime();
}

function fields(id: string): { prefix: string; offset: number; counter: number } {
  return { prefix: id.slice(0, 20), offset: parseInt(id.slice(20, 28), 16), counter: parseInt(id.slice(28), 16) };
}

describe('UNIQ_KEY generator', () => {
  it('makes 32 uppercase hex characters: ip + pid + random + month offset + counter', () => {
    const now = new Date(2024, 2, 15, 10, 30, 0, 5).getTime();
    const gen = createUniqKeyGenerator({ ipv4: IP, pid: 0x12345, random: () => 0.5, nowMs: () => now });
    const id = gen.next();
    assert.match(id, HEX32);
    assert.equal(id.slice(0, 8), 'C0A80114');
    assert.equal(id.slice(8, 12), '2345', 'pid keeps its low 16 bits');
    assert.equal(id.slice(12, 20), '80000000');
    assert.equal(gen.prefix, 'C0A80114234580000000');
    assert.equal(id.slice(20, 28), monthOffset(now).toString(16).toUpperCase().padStart(8, '0'));
    assert.equal(id.slice(28), '0000');
  });

  it('keeps the prefix fixed per generator and increments the counter', () => {
    let now = new Date(2024, 5, 3, 1, 2, 3, 4).getTime();
    const gen = createUniqKeyGenerator({ ipv4: IP, pid: 77, nowMs: () => now });
    const ids = [gen.next(), gen.next(), gen.next()];
    now += 10;
    ids.push(gen.next());
    for (const id of ids) {
      assert.match(id, HEX32);
      assert.equal(fields(id).prefix, gen.prefix);
    }
    assert.deepEqual(ids.map((id) => fields(id).counter), [0, 1, 2, 3]);
    assert.equal(fields(ids[3]!).offset - fields(ids[0]!).offset, 10);
  });

  it('gives each generator its own random part by default', () => {
    const a = createUniqKeyGenerator({ ipv4: IP, pid: 1 });
    const b = createUniqKeyGenerator({ ipv4: IP, pid: 1 });
    assert.equal(a.prefix.slice(0, 12), b.prefix.slice(0, 12));
    assert.notEqual(a.prefix, b.prefix); // 1 in 2^32 chance of a false failure
  });

  it('uses this host and process by default', () => {
    const id = createUniqKeyGenerator().next();
    assert.match(id, HEX32);
    const decoded = decodeUniqKey(id);
    assert.equal(decoded.ip.length, 4);
    assert.notEqual(decoded.ip[0], 0);
    assert.equal(decoded.pid, process.pid & 0xffff);
    assert.ok(Math.abs(decodeUniqKeyTimestampMs(id) - Date.now()) < 60_000);
  });

  it('is unique over 100,000 calls on the real clock', () => {
    const gen = createUniqKeyGenerator();
    const seen = new Set<string>();
    for (let i = 0; i < 100_000; i++) seen.add(gen.next());
    assert.equal(seen.size, 100_000);
  });

  it('stays unique when the 16-bit counter wraps within one millisecond', () => {
    const now = new Date(2024, 6, 10).getTime() + 12_345;
    const gen = createUniqKeyGenerator({ ipv4: IP, pid: 1, random: () => 0, nowMs: () => now });
    const seen = new Set<string>();
    for (let i = 0; i < 200_000; i++) seen.add(gen.next());
    assert.equal(seen.size, 200_000);
    const last = fields(gen.next());
    assert.equal(last.counter, 200_000 % 65_536);
    assert.equal(last.offset, monthOffset(now) + 3, 'the time field moves by one per counter cycle');
  });

  it('never moves the time field backwards when the clock steps back', () => {
    const base = new Date(2024, 8, 5).getTime();
    const clock = [base, base + 5_000, base + 1_000, base + 6_000];
    let i = 0;
    const gen = createUniqKeyGenerator({ ipv4: IP, pid: 1, random: () => 0, nowMs: () => clock[Math.min(i++, 3)]! });
    const offsets = [gen.next(), gen.next(), gen.next()].map((id) => fields(id).offset);
    assert.deepEqual(offsets, [monthOffset(base) + 5_000, monthOffset(base) + 5_000, monthOffset(base) + 6_000]);
  });

  it('restarts the time field at the start of each month', () => {
    const lastMsOfJanuary = new Date(2025, 1, 1).getTime() - 1;
    let now = lastMsOfJanuary;
    const gen = createUniqKeyGenerator({ ipv4: IP, pid: 1, random: () => 0, nowMs: () => now });
    const january = fields(gen.next());
    assert.equal(january.offset, monthOffset(lastMsOfJanuary));
    assert.ok(january.offset > 2 ** 31, 'past ~24.8 days the int32 is written as its unsigned bits');
    now += 2;
    const february = fields(gen.next());
    assert.equal(february.offset, 1);
    assert.equal(february.counter, 1);
  });
});

describe('UNIQ_KEY written into a buffer', () => {
  it('nextInto writes the id it returns, as next() would make it, and advances the same counter', () => {
    let now = new Date(2024, 3, 9, 12).getTime();
    const a = createUniqKeyGenerator({ ipv4: IP, pid: 5, random: () => 0.25, nowMs: () => now });
    const b = createUniqKeyGenerator({ ipv4: IP, pid: 5, random: () => 0.25, nowMs: () => now });
    const target = Buffer.alloc(40, 0x2e);
    for (let i = 0; i < 300; i++) {
      if (i === 150) now += 3;
      const written = a.nextInto(target, 4);
      assert.equal(written, b.next());
      assert.equal(target.toString('latin1', 4, 36), written);
    }
    assert.equal(target.toString('latin1', 0, 4), '....', 'nothing before');
    assert.equal(target.toString('latin1', 36), '....', 'nothing after');
    assert.equal(fields(a.next()).counter, 300);
  });

  it('refuses a place without room for 32 bytes', () => {
    const gen = createUniqKeyGenerator({ ipv4: IP, pid: 1 });
    assert.throws(() => gen.nextInto(new Uint8Array(40), 9), RangeError);
    assert.throws(() => gen.nextInto(new Uint8Array(40), -1), RangeError);
    assert.equal(fields(gen.next()).counter, 0, 'a refused call takes no id');
  });
});

describe('UNIQ_KEY decoding', () => {
  it('decodes the ip, pid, random part, time and counter back', () => {
    const now = new Date(2024, 10, 20, 8, 0, 0, 250).getTime();
    const gen = createUniqKeyGenerator({ ipv4: IP, pid: 0xfffe, random: () => 0.75, nowMs: () => now });
    gen.next();
    const decoded = decodeUniqKey(gen.next());
    assert.deepEqual(decoded, {
      ip: IP,
      pid: 0xfffe,
      random: 0xc0000000 | 0,
      monthOffsetMs: monthOffset(now),
      counter: 1,
    });
    assert.equal(decodeUniqKeyTimestampMs(gen.next(), now + 1_000), now);
  });

  it('decodes a Java-made id', () => {
    // Java 4.x producer on 127.0.0.1, pid 16780, the familiar classloader hash 18B4AAC2, counter 0.
    const decoded = decodeUniqKey('7F000001418C18B4AAC23C8CE0D70000');
    assert.deepEqual(decoded.ip, Uint8Array.of(127, 0, 0, 1));
    assert.equal(decoded.pid, 16780);
    assert.equal(decoded.random, 0x18b4aac2);
    assert.equal(decoded.monthOffsetMs, 0x3c8ce0d7);
    assert.equal(decoded.counter, 0);
  });

  it('decodes the 56-character form of IPv6 Java clients', () => {
    const id = '20010DB8000000000000000000000001' + '0001' + 'FFFFFFFF' + '00000010' + '0002';
    const decoded = decodeUniqKey(id);
    assert.equal(decoded.ip.length, 16);
    assert.equal(decoded.pid, 1);
    assert.equal(decoded.random, -1);
    assert.equal(decoded.monthOffsetMs, 16);
    assert.equal(decoded.counter, 2);
  });

  it("places an id made late last month in last month, as Java's getNearlyTimeFromID", () => {
    const made = new Date(2025, 2, 31, 23, 0).getTime();
    const gen = createUniqKeyGenerator({ ipv4: IP, pid: 1, random: () => 0, nowMs: () => made });
    const id = gen.next();
    assert.equal(decodeUniqKeyTimestampMs(id, new Date(2025, 3, 2, 9, 0).getTime()), made);
    assert.equal(decodeUniqKeyTimestampMs(id, made + 60_000), made);
    assert.equal(decodeUniqKeyTimestampMs(id, made), made, 'an id made this very millisecond stays in this month');
  });

  it('throws ProtocolError for malformed ids', () => {
    for (const bad of ['', 'XYZ', 'G'.repeat(32), '0'.repeat(31), '0'.repeat(33), '0'.repeat(40)]) {
      assert.throws(() => decodeUniqKey(bad), ProtocolError, JSON.stringify(bad));
    }
  });
});
