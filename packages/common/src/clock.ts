/** Wall-clock time, injectable so services with time (retention, flush) can be tested without sleeping. */
export interface Clock {
  nowMs(): number;
}

export const systemClock: Clock = { nowMs: () => Date.now() };
