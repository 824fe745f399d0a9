export { TernError, InvalidArgumentError, ProtocolError, AssertionError } from './errors.js';
export { assert } from './assert.js';
export type { Logger } from './logger.js';
export { silentLogger, consoleLogger } from './logger.js';
export { KiB, MiB, GiB, SECOND_MS, MINUTE_MS, HOUR_MS } from './units.js';
export type { Clock } from './clock.js';
export { systemClock } from './clock.js';
export { seededRandom } from './seeded-random.js';
