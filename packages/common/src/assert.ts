import { AssertionError } from './errors.js';

/** Asserts an invariant. Failing means a bug in Tern, never bad input: bad input gets a status or a typed error. */
export function assert(condition: unknown, message = 'assertion failed'): asserts condition {
  if (!condition) throw new AssertionError(message);
}
