import type { HostAddress } from '@tern/protocol';

/** Upper-case hex digits by value. */
const HEX = Buffer.from('0123456789ABCDEF', 'latin1');
const COMMA = 0x2c;
const TWO_POW_32 = 0x1_0000_0000;

/**
 * The offset message ids of one put (MessageDecoder.createMessageId: hex of store host IP, port and physical offset)
 * joined with commas, as SEND_MESSAGE's response carries them. Written as bytes into one buffer and decoded once,
 * instead of a string (and a toString(16)) per message. Reusable: `begin` starts the next list in the same buffer.
 */
export class OffsetMessageIdList {
  private bytes: Buffer = Buffer.allocUnsafe(0);
  private length = 0;
  private prefix: Buffer = Buffer.allocUnsafe(0);

  begin(storeHost: HostAddress, count: number): this {
    this.prefix = hostHexPrefix(storeHost);
    const capacity = count * (this.prefix.length + 17);
    if (this.bytes.length < capacity) this.bytes = Buffer.allocUnsafe(Math.max(capacity, 2 * this.bytes.length));
    this.length = 0;
    return this;
  }

  add(physicalOffset: number): void {
    const bytes = this.bytes;
    let at = this.length;
    if (at > 0) bytes[at++] = COMMA;
    const prefix = this.prefix;
    for (let i = 0; i < prefix.length; i++) bytes[at + i] = prefix[i]!;
    at += prefix.length;
    // Physical offsets are non-negative safe integers: 16 hex digits in two 32-bit halves.
    putHex8(bytes, at, Math.floor(physicalOffset / TWO_POW_32));
    putHex8(bytes, at + 8, physicalOffset >>> 0);
    this.length = at + 16;
  }

  toString(): string {
    return this.bytes.toString('latin1', 0, this.length);
  }
}

function putHex8(bytes: Buffer, at: number, value: number): void {
  for (let i = 7; i >= 0; i--) {
    bytes[at + i] = HEX[value & 0xf]!;
    value >>>= 4;
  }
}

let cachedHost: HostAddress | null = null;
let cachedPrefix: Buffer = Buffer.alloc(0);

/** Hex of ip + port: a broker has one store host, so this is computed once. */
function hostHexPrefix(host: HostAddress): Buffer {
  if (host !== cachedHost) {
    const raw = Buffer.alloc(host.ip.length + 4);
    raw.set(host.ip, 0);
    raw.writeInt32BE(host.port, host.ip.length);
    cachedPrefix = Buffer.from(raw.toString('hex').toUpperCase(), 'latin1');
    cachedHost = host;
  }
  return cachedPrefix;
}
