import { TernError } from '@tern/common';

/** No response arrived within the timeout. The connection stays open (RocketMQ's client keeps it too). */
export class RemotingTimeoutError extends TernError {
  readonly address: string;
  readonly opaque: number;
  readonly code: number;
  readonly timeoutMs: number;
  constructor(address: string, opaque: number, code: number, timeoutMs: number) {
    super(`request code ${code} (opaque ${opaque}) to ${address} got no response within ${timeoutMs} ms`, { retriable: true });
    this.address = address;
    this.opaque = opaque;
    this.code = code;
    this.timeoutMs = timeoutMs;
  }
}

/** The connection could not be made, or it closed before the request was written or answered. */
export class RemotingConnectionError extends TernError {
  readonly address: string;
  constructor(address: string, message: string, options?: ErrorOptions) {
    super(`${address}: ${message}`, { ...options, retriable: true });
    this.address = address;
  }
}

/** Too many requests already waiting for a response on this connection; back off and retry. */
export class RemotingBusyError extends TernError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, { ...options, retriable: true });
  }
}
