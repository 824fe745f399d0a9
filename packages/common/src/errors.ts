/**
 * The base of every operating error Tern throws. Expected outcomes on hot paths are returned as status values,
 * programmer errors are assertions; this hierarchy is for the failures in between (I/O, bad input, timeouts).
 */
export class TernError extends Error {
  readonly retriable: boolean;
  constructor(message: string, options?: ErrorOptions & { retriable?: boolean }) {
    super(message, options);
    this.name = new.target.name;
    this.retriable = options?.retriable ?? false;
  }
}

/** A caller passed a value that can never be valid (bad topic name, oversized properties, bad config key). */
export class InvalidArgumentError extends TernError {
  readonly property: string;
  constructor(property: string, message: string, options?: ErrorOptions) {
    super(`${property}: ${message}`, options);
    this.property = property;
  }
  static format(property: string | string[], message: string): InvalidArgumentError {
    return new InvalidArgumentError(Array.isArray(property) ? property.join(', ') : property, message);
  }
}

/** Bytes that do not decode as the format says (torn frame, bad magic, a length past what remains). */
export class ProtocolError extends TernError {}

/** A programmer error: an invariant that must hold did not. */
export class AssertionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AssertionError';
  }
}
