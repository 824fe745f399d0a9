import { type HostAddress, hostAddress } from '@tern/protocol';

const parsedHosts = new Map<string, HostAddress>();
const PARSED_HOSTS_MAX = 10_000;

/** "ip:port" or "[v6]:port" of a channel peer → the HostAddress written as BORNHOST; cached, it runs per message. */
export function parseRemoteHost(address: string): HostAddress {
  let host = parsedHosts.get(address);
  if (host === undefined) {
    if (parsedHosts.size >= PARSED_HOSTS_MAX) parsedHosts.clear();
    host = parseRemoteHostUncached(address);
    parsedHosts.set(address, host);
  }
  return host;
}

function parseRemoteHostUncached(address: string): HostAddress {
  const at = address.lastIndexOf(':');
  const ip = address.slice(0, at).replace(/^\[|\]$/g, '');
  const port = Number(address.slice(at + 1));
  try {
    return hostAddress(ip, Number.isInteger(port) ? port : 0);
  } catch {
    return { ip: Uint8Array.of(0, 0, 0, 0), port: 0 };
  }
}
