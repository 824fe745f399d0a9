import { ProtocolError } from '@tern/common';
import type { HostAddress } from './host-address.js';

/**
 * The "offset message id" (MessageDecoder.createMessageId): uppercase hex of store host IP (4 or 16 bytes), port
 * (int32) and CommitLog physical offset (int64): 32 hex characters for IPv4, 56 for IPv6.
 */
export function createOffsetMessageId(storeHost: HostAddress, physicalOffset: number): string {
  let prefix = hostPrefixes.get(storeHost);
  if (prefix === undefined) {
    const bytes = Buffer.alloc(storeHost.ip.length + 4);
    bytes.set(storeHost.ip, 0);
    bytes.writeInt32BE(storeHost.port, storeHost.ip.length);
    prefix = bytes.toString('hex').toUpperCase();
    hostPrefixes.set(storeHost, prefix);
  }
  // Physical offsets are non-negative safe integers, so 16 hex digits hold them; no BigInt on the hot path.
  return prefix + physicalOffset.toString(16).toUpperCase().padStart(16, '0');
}

/** Hex of ip + port per host object: a broker has one store host, so this is computed once. */
const hostPrefixes = new WeakMap<HostAddress, string>();

export interface DecodedOffsetMessageId {
  storeHost: HostAddress;
  physicalOffset: number;
}

/** Decodes an offset message id (VIEW_MESSAGE_BY_ID); a malformed id is a ProtocolError. */
export function decodeOffsetMessageId(messageId: string): DecodedOffsetMessageId {
  if (!/^[0-9A-Fa-f]+$/.test(messageId) || (messageId.length !== 32 && messageId.length !== 56)) {
    throw new ProtocolError(`invalid offset message id ${JSON.stringify(messageId)}: want 32 or 56 hex characters`);
  }
  const bytes = Buffer.from(messageId, 'hex');
  const ipLength = bytes.length - 12;
  return {
    storeHost: { ip: Uint8Array.from(bytes.subarray(0, ipLength)), port: bytes.readInt32BE(ipLength) },
    physicalOffset: Number(bytes.readBigInt64BE(ipLength + 4)),
  };
}
