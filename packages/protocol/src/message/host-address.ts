import { ProtocolError } from '@tern/common';

/** A host as stored in a message record: 4-byte IPv4 or 16-byte IPv6 address plus an int32 port. */
export interface HostAddress {
  readonly ip: Uint8Array;
  readonly port: number;
}

/**
 * Parses "a.b.c.d" or an IPv6 address (with "::ffff:a.b.c.d" normalised to IPv4, since ali-ons can only decode
 * IPv4 hosts) into a HostAddress.
 */
export function hostAddress(ipText: string, port: number): HostAddress {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ipText);
  const text = mapped?.[1] ?? ipText;
  if (/^\d+\.\d+\.\d+\.\d+$/.test(text)) {
    const parts = text.split('.').map(Number);
    if (parts.some((p) => p > 255)) throw new ProtocolError(`invalid IPv4 address ${ipText}`);
    return { ip: Uint8Array.from(parts), port };
  }
  return { ip: parseIpv6(text), port };
}

function parseIpv6(text: string): Uint8Array {
  const halves = text.split('::');
  if (halves.length > 2) throw new ProtocolError(`invalid IPv6 address ${text}`);
  const parse = (part: string | undefined): number[] =>
    part === undefined || part.length === 0 ? [] : part.split(':').map((group) => {
      if (!/^[0-9a-f]{1,4}$/i.test(group)) throw new ProtocolError(`invalid IPv6 address ${text}`);
      return parseInt(group, 16);
    });
  const head = parse(halves[0]);
  const tail = parse(halves[1]);
  const missing = 8 - head.length - tail.length;
  if (missing < 0 || (halves.length === 1 && missing !== 0)) throw new ProtocolError(`invalid IPv6 address ${text}`);
  const groups = [...head, ...new Array<number>(missing).fill(0), ...tail];
  const bytes = new Uint8Array(16);
  groups.forEach((g, i) => {
    bytes[i * 2] = g >> 8;
    bytes[i * 2 + 1] = g & 0xff;
  });
  return bytes;
}

export function isIpv6(host: HostAddress): boolean {
  return host.ip.length === 16;
}

/** "a.b.c.d:port" or "[v6]:port", for logs and the broker address strings RocketMQ uses. */
export function formatHostAddress(host: HostAddress): string {
  if (!isIpv6(host)) return `${host.ip.join('.')}:${host.port}`;
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((((host.ip[i] ?? 0) << 8) | (host.ip[i + 1] ?? 0)).toString(16));
  return `[${groups.join(':')}]:${host.port}`;
}
