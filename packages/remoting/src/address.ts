import { InvalidArgumentError } from '@tern/common';

/** "ip:port", with `::ffff:a.b.c.d` shown as a.b.c.d (RocketMQ's clients only understand IPv4 addresses). */
export function formatSocketAddress(ip: string | undefined, port: number | undefined): string {
  return `${normalizeIp(ip ?? 'unknown')}:${port ?? 0}`;
}

/** `::ffff:a.b.c.d` → a.b.c.d; anything else unchanged. */
export function normalizeIp(ip: string): string {
  return ip.startsWith('::ffff:') && ip.includes('.') ? ip.slice('::ffff:'.length) : ip;
}

/** Splits "host:port" (or "[v6]:port", or a bare v6 address with the port after the last colon). */
export function parseAddress(address: string): { host: string; port: number } {
  const colon = address.lastIndexOf(':');
  if (colon <= 0 || colon === address.length - 1) throw InvalidArgumentError.format('address', `"${address}" is not host:port`);
  let host = address.slice(0, colon);
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  const portText = address.slice(colon + 1);
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port < 1 || port > 65535) throw InvalidArgumentError.format('address', `"${address}" has no valid port`);
  return { host, port };
}
