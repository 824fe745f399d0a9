/** The logger interface libraries receive; bin entry points choose the implementation. */
export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

const noop = (): void => {};

/** A logger that drops everything, for libraries used without one and for quiet tests. */
export const silentLogger: Logger = { debug: noop, info: noop, warn: noop, error: noop };

/** A logger that writes one JSON line per event to stderr, used until a bin entry point chooses another. */
export function consoleLogger(level: 'debug' | 'info' | 'warn' | 'error' = 'info'): Logger {
  const order = { debug: 0, info: 1, warn: 2, error: 3 } as const;
  const at = (name: keyof typeof order) => (message: string, fields?: Record<string, unknown>): void => {
    if (order[name] < order[level]) return;
    process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), level: name, message, ...fields })}\n`);
  };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}
