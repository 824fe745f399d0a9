import type { Logger } from '@tern/common';
import { destination, pino } from 'pino';

/**
 * Structured JSON logs on stderr (stdout carries the start-up lines people and scripts read). Synchronous writes: log
 * volume is low and nothing is lost when the process exits right after a stop.
 */
export function createLogger(level = process.env.TERN_LOG_LEVEL ?? 'info'): Logger {
  const log = pino({ level, base: { pid: process.pid } }, destination({ fd: 2, sync: true }));
  return {
    debug: (message, fields) => log.debug(fields ?? {}, message),
    info: (message, fields) => log.info(fields ?? {}, message),
    warn: (message, fields) => log.warn(fields ?? {}, message),
    error: (message, fields) => log.error(fields ?? {}, message),
  };
}
