import type { Logger } from '@tern/common';
import { ClientErrorCode, InvalidArgumentError, MQBrokerError, MQClientError } from '@tern/client';
import { ResponseCode, responseCodeInfo } from '@tern/protocol';

/** What a bench run writes to and listens to (process streams and SIGINT in the CLI; anything in tests). */
export interface BenchIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  /** Aborted when the user asks to stop (SIGINT/SIGTERM): the run stops, drains and still prints its summary. */
  signal: AbortSignal;
  logger: Logger;
}

/** Why a run ended. */
export type StopReason = 'messages' | 'duration' | 'signal' | 'error';

const CLIENT_CODE_NAMES = new Map<number, string>(Object.entries(ClientErrorCode).map(([name, code]) => [code, name]));

/** "MQBrokerError 14 SYSTEM_BUSY", "MQClientError 10002 ACCESS_BROKER_TIMEOUT", or the error's class name. */
export function failureLabel(error: unknown): string {
  if (error instanceof MQClientError) {
    const kind = error instanceof MQBrokerError ? 'MQBrokerError' : 'MQClientError';
    if (error.code === -1) return kind;
    const name = CLIENT_CODE_NAMES.get(error.code) ?? responseCodeInfo(error.code)?.name ?? 'UNKNOWN';
    return `${kind} ${error.code} ${name}`;
  }
  if (error instanceof Error) return error.name;
  return typeof error;
}

/**
 * Errors that no amount of retrying fixes: a message the client refuses (InvalidArgumentError, InvalidMessageError)
 * or the broker will never store (MESSAGE_ILLEGAL, e.g. over its maxMessageSize). The run stops.
 */
export function isFatal(error: unknown): boolean {
  return error instanceof InvalidArgumentError || (error instanceof MQBrokerError && error.code === ResponseCode.MESSAGE_ILLEGAL);
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) {
      resolve();
      return;
    }
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** One line of JSON or the human summary, then a newline. */
export function writeLine(stream: NodeJS.WritableStream, text: string): void {
  stream.write(text.endsWith('\n') ? text : `${text}\n`);
}

export function describeBound(durationSeconds: number | null, messages: number | null): string {
  const parts: string[] = [];
  if (messages !== null) parts.push(`${messages} messages`);
  if (durationSeconds !== null) parts.push(`${durationSeconds} s`);
  if (parts.length === 0) return 'until Ctrl-C';
  return parts.length === 1 ? `for ${parts[0]!}` : `for ${parts.join(' or ')}, whichever comes first`;
}
