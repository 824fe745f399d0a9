import { type HostAddress, hostAddress } from '@tern/protocol';

/** "ip:port" or "[v6]:port" of a channel peer → the HostAddress written as BORNHOST. */
export function parseRemoteHost(address: string): HostAddress {
  const at = address.lastIndexOf(':');
  const ip = address.slice(0, at).replace(/^\[|\]$/g, '');
  const port = Number(address.slice(at + 1));
  try {
    return hostAddress(ip, Number.isInteger(port) ? port : 0);
  } catch {
    return { ip: Uint8Array.of(0, 0, 0, 0), port: 0 };
  }
}
