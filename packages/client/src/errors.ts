import { InvalidArgumentError, TernError } from '@tern/common';
import { ResponseCode, responseCodeInfo } from '@tern/protocol';
import { RemotingBusyError, RemotingConnectionError, RemotingTimeoutError } from '@tern/remoting';

/*
 * The client's errors (DESIGN.md "Errors", STYLE.md §3.3). Everything the public API rejects with is one of:
 *
 *   InvalidMessageError / InvalidArgumentError  a message or option that can never be valid; thrown before anything
 *                                               leaves the process (Java: MQClientException from Validators).
 *   MQBrokerError                               a broker answered with an error response code (Java MQBrokerException).
 *   MQClientError                               everything else: no route, retries exhausted, a transport failure
 *                                               (the RemotingTimeoutError / RemotingConnectionError is its `cause`),
 *                                               a client not started (Java MQClientException).
 *
 * Every MQClientError carries the context an operator needs (topic, broker name and address, name server, elapsed
 * milliseconds, attempts) as fields and in its message, and chains the underlying error as `cause`.
 */

export { InvalidArgumentError } from '@tern/common';
export { RemotingTimeoutError, RemotingConnectionError, RemotingBusyError } from '@tern/remoting';

/**
 * RocketMQ's ClientErrorCode: codes for failures that happen in the client, outside any broker response. They start
 * at 10001 so they never collide with a ResponseCode.
 */
export const ClientErrorCode = {
  CONNECT_BROKER_EXCEPTION: 10001,
  ACCESS_BROKER_TIMEOUT: 10002,
  BROKER_NOT_EXIST_EXCEPTION: 10003,
  NO_NAME_SERVER_EXCEPTION: 10004,
  NOT_FOUND_TOPIC_EXCEPTION: 10005,
  REQUEST_TIMEOUT_EXCEPTION: 10006,
  CREATE_REPLY_MESSAGE_EXCEPTION: 10007,
} as const;
export type ClientErrorCode = (typeof ClientErrorCode)[keyof typeof ClientErrorCode];

/** Whether waiting and trying again may help, per client error code. */
const CLIENT_CODE_RETRIABLE: ReadonlyMap<number, boolean> = new Map([
  [ClientErrorCode.CONNECT_BROKER_EXCEPTION, true],
  [ClientErrorCode.ACCESS_BROKER_TIMEOUT, true],
  [ClientErrorCode.BROKER_NOT_EXIST_EXCEPTION, true],
  [ClientErrorCode.NO_NAME_SERVER_EXCEPTION, true],
  [ClientErrorCode.NOT_FOUND_TOPIC_EXCEPTION, false],
  [ClientErrorCode.REQUEST_TIMEOUT_EXCEPTION, true],
  [ClientErrorCode.CREATE_REPLY_MESSAGE_EXCEPTION, false],
]);

/** `code` of an MQClientError that has no response or client error code (Java's -1). */
export const NO_ERROR_CODE = -1;

/** Where and when an operation failed. Every field is optional: set what is known. */
export interface ErrorContext {
  topic?: string;
  brokerName?: string;
  brokerAddr?: string;
  namesrvAddr?: string;
  queueId?: number;
  /** From the start of the operation (e.g. the whole send, retries included) to the failure. */
  elapsedMs?: number;
  /** Requests made (send attempts) before giving up. */
  attempts?: number;
}

export interface MQClientErrorOptions extends ErrorContext {
  /** A ResponseCode, a ClientErrorCode, or NO_ERROR_CODE. @defaultValue NO_ERROR_CODE */
  code?: number;
  /** The broker's or name server's remark, when one answered. */
  remark?: string | null;
  /** Default: from the response-code table for response codes, from ClientErrorCode for client codes, else false. */
  retriable?: boolean;
  cause?: unknown;
}

/** True when `code` is retriable per the response-code table or the client error codes. */
export function isRetriableCode(code: number): boolean {
  return CLIENT_CODE_RETRIABLE.get(code) ?? responseCodeInfo(code)?.retriable ?? false;
}

/** " [topic=T broker=B(addr) namesrv=N queueId=1 attempts=3 elapsed=12ms]", or "" when nothing is known. */
export function describeContext(context: ErrorContext): string {
  const parts: string[] = [];
  if (context.topic !== undefined) parts.push(`topic=${context.topic}`);
  if (context.brokerName !== undefined || context.brokerAddr !== undefined) {
    parts.push(`broker=${context.brokerName ?? '?'}${context.brokerAddr !== undefined ? `(${context.brokerAddr})` : ''}`);
  }
  if (context.namesrvAddr !== undefined) parts.push(`namesrv=${context.namesrvAddr}`);
  if (context.queueId !== undefined) parts.push(`queueId=${context.queueId}`);
  if (context.attempts !== undefined) parts.push(`attempts=${context.attempts}`);
  if (context.elapsedMs !== undefined) parts.push(`elapsed=${Math.round(context.elapsedMs)}ms`);
  return parts.length === 0 ? '' : ` [${parts.join(' ')}]`;
}

/** A client-side failure (Java MQClientException): the base of MQBrokerError. */
export class MQClientError extends TernError {
  /** A ResponseCode (e.g. 17 TOPIC_NOT_EXIST), a ClientErrorCode (≥ 10001), or NO_ERROR_CODE (-1). */
  readonly code: number;
  readonly remark: string | null;
  readonly topic: string | undefined;
  readonly brokerName: string | undefined;
  readonly brokerAddr: string | undefined;
  readonly namesrvAddr: string | undefined;
  readonly queueId: number | undefined;
  readonly elapsedMs: number | undefined;
  readonly attempts: number | undefined;

  constructor(message: string, options: MQClientErrorOptions = {}) {
    const code = options.code ?? NO_ERROR_CODE;
    super(message + describeContext(options), {
      cause: options.cause,
      retriable: options.retriable ?? isRetriableCode(code),
    });
    this.code = code;
    this.remark = options.remark ?? null;
    this.topic = options.topic;
    this.brokerName = options.brokerName;
    this.brokerAddr = options.brokerAddr;
    this.namesrvAddr = options.namesrvAddr;
    this.queueId = options.queueId;
    this.elapsedMs = options.elapsedMs;
    this.attempts = options.attempts;
  }

  /** The context fields of this error, to carry them into a wrapping error. */
  get context(): ErrorContext {
    const context: ErrorContext = {};
    if (this.topic !== undefined) context.topic = this.topic;
    if (this.brokerName !== undefined) context.brokerName = this.brokerName;
    if (this.brokerAddr !== undefined) context.brokerAddr = this.brokerAddr;
    if (this.namesrvAddr !== undefined) context.namesrvAddr = this.namesrvAddr;
    if (this.queueId !== undefined) context.queueId = this.queueId;
    if (this.elapsedMs !== undefined) context.elapsedMs = this.elapsedMs;
    if (this.attempts !== undefined) context.attempts = this.attempts;
    return context;
  }
}

/**
 * A broker answered a request with an error response code (Java MQBrokerException). `retriable` comes from the
 * response-code table (e.g. SYSTEM_BUSY, TOPIC_NOT_EXIST, SERVICE_NOT_AVAILABLE are; MESSAGE_ILLEGAL is not).
 */
export class MQBrokerError extends MQClientError {
  override readonly brokerAddr: string;
  constructor(code: number, remark: string | null, brokerAddr: string, context: ErrorContext & { cause?: unknown } = {}) {
    const name = responseCodeInfo(code)?.name ?? `code ${code}`;
    super(`broker answered ${name} (${code}): ${remark ?? responseCodeInfo(code)?.message ?? 'no remark'}`, {
      ...context, code, remark, brokerAddr,
    });
    this.brokerAddr = brokerAddr;
  }
}

/**
 * A message that can never be sent as it is (bad topic, empty or oversized body, reserved property name, ...):
 * thrown before anything leaves the process. `property` names the offending part (topic, body, properties.X, ...).
 */
export class InvalidMessageError extends InvalidArgumentError {
  /** ResponseCode.MESSAGE_ILLEGAL, as Java's MQClientException from Validators.checkMessage carries. */
  readonly code: number = ResponseCode.MESSAGE_ILLEGAL;
  readonly topic: string | undefined;
  constructor(property: string, message: string, options: { topic?: string; cause?: unknown } = {}) {
    super(property, message + (options.topic !== undefined ? ` [topic=${options.topic}]` : ''),
      options.cause !== undefined ? { cause: options.cause } : undefined);
    this.topic = options.topic;
  }
}

/**
 * Turns whatever a remoting call rejected with into an MQClientError carrying `context`: transport errors get
 * RocketMQ's client codes (timeout → ACCESS_BROKER_TIMEOUT, connection → CONNECT_BROKER_EXCEPTION, too many
 * requests in flight → SYSTEM_BUSY), all retriable, with the original error as `cause`. MQClientErrors pass through.
 */
export function wrapRemotingError(error: unknown, what: string, context: ErrorContext): MQClientError {
  if (error instanceof MQClientError) return error;
  if (error instanceof RemotingTimeoutError) {
    return new MQClientError(`${what}: no response within ${error.timeoutMs} ms`, {
      ...context, code: ClientErrorCode.ACCESS_BROKER_TIMEOUT, cause: error,
    });
  }
  if (error instanceof RemotingConnectionError) {
    return new MQClientError(`${what}: ${error.message}`, { ...context, code: ClientErrorCode.CONNECT_BROKER_EXCEPTION, cause: error });
  }
  if (error instanceof RemotingBusyError) {
    return new MQClientError(`${what}: ${error.message}`, { ...context, code: ResponseCode.SYSTEM_BUSY, cause: error });
  }
  const message = error instanceof Error ? error.message : String(error);
  return new MQClientError(`${what}: ${message}`, { ...context, cause: error, retriable: false });
}
