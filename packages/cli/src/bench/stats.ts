import hdr from 'hdr-histogram-js';
import type { Histogram } from 'hdr-histogram-js';

/*
 * The figures of `tern bench`: latency percentiles from an HDR histogram (hdr-histogram-js, pure JS, microsecond
 * resolution, 3 significant digits), throughput counters, and outcome tallies.
 */

/** Percentiles of one latency histogram, in milliseconds. */
export interface LatencySummary {
  count: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
}

/** Latencies recorded in microseconds; reported in milliseconds. Negative values (clock skew) count as 0. */
export class LatencyRecorder {
  private readonly histogram: Histogram = hdr.build({
    lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: 3, autoResize: true,
  });

  recordMicros(micros: number): void {
    this.histogram.recordValue(Math.max(0, Math.round(micros)));
  }

  recordMillis(millis: number): void {
    this.recordMicros(millis * 1000);
  }

  get count(): number {
    return this.histogram.totalCount;
  }

  /**
   * The value at `percentile` (0-100) in ms; 0 when nothing was recorded. HDR percentiles are the highest value
   * equivalent to the bucket's (3 significant digits), which can pass the exact maximum: clamped to it.
   */
  percentileMs(percentile: number): number {
    if (this.count === 0) return 0;
    return Math.min(this.histogram.getValueAtPercentile(percentile), this.histogram.maxValue) / 1000;
  }

  summary(): LatencySummary {
    if (this.count === 0) return { count: 0, mean: 0, p50: 0, p90: 0, p99: 0, p999: 0, max: 0 };
    const ms = (micros: number): number => round3(micros / 1000);
    return {
      count: this.count,
      mean: ms(this.histogram.mean),
      p50: round3(this.percentileMs(50)),
      p90: round3(this.percentileMs(90)),
      p99: round3(this.percentileMs(99)),
      p999: round3(this.percentileMs(99.9)),
      max: ms(this.histogram.maxValue),
    };
  }
}

/** Counts by label (send statuses, failure kinds), in first-seen order. */
export class Tally {
  private readonly counts = new Map<string, number>();

  add(label: string, count = 1): void {
    this.counts.set(label, (this.counts.get(label) ?? 0) + count);
  }

  get total(): number {
    let sum = 0;
    for (const value of this.counts.values()) sum += value;
    return sum;
  }

  toJSON(): Record<string, number> {
    return Object.fromEntries(this.counts);
  }
}

/** Messages and bytes so far, and the rate since the previous `sample()` (for the once-a-second progress line). */
export class Throughput {
  messages = 0;
  bytes = 0;
  private lastMessages = 0;
  private lastBytes = 0;
  private lastAt: number;
  private lastRates: { messagesPerSecond: number; megabytesPerSecond: number } | null = null;

  constructor(startedAt = performance.now()) {
    this.lastAt = startedAt;
  }

  add(messages: number, bytes: number): void {
    this.messages += messages;
    this.bytes += bytes;
  }

  /**
   * Rates since the previous sample. A call less than `minIntervalMs` after it returns the previous rates again (a
   * redraw right after another would divide a handful of messages by a few milliseconds).
   */
  sample(now = performance.now(), minIntervalMs = 200): { messagesPerSecond: number; megabytesPerSecond: number } {
    if (this.lastRates !== null && now - this.lastAt < minIntervalMs) return this.lastRates;
    const seconds = Math.max(1e-3, (now - this.lastAt) / 1000);
    const rates = {
      messagesPerSecond: (this.messages - this.lastMessages) / seconds,
      megabytesPerSecond: (this.bytes - this.lastBytes) / 1e6 / seconds,
    };
    this.lastMessages = this.messages;
    this.lastBytes = this.bytes;
    this.lastAt = now;
    this.lastRates = rates;
    return rates;
  }
}

export function round3(value: number): number {
  return Math.round(value * 1000) / 1000;
}

export function round1(value: number): number {
  return Math.round(value * 10) / 10;
}

/** "12,345" style integers, "1.23" style decimals: fixed formats, independent of the locale. */
export function formatCount(value: number): string {
  return Math.round(value).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

export function formatMs(value: number): string {
  if (value >= 100) return value.toFixed(0);
  if (value >= 10) return value.toFixed(1);
  return value.toFixed(2);
}

/** "p50 1.23 / p90 ... / max 9.87 ms". */
export function formatLatency(latency: LatencySummary): string {
  if (latency.count === 0) return '(none recorded)';
  return `p50 ${formatMs(latency.p50)}  p90 ${formatMs(latency.p90)}  p99 ${formatMs(latency.p99)}  `
    + `p99.9 ${formatMs(latency.p999)}  max ${formatMs(latency.max)}  mean ${formatMs(latency.mean)} ms`;
}

/** "k1=v1, k2=v2", or "none". */
export function formatTally(tally: Record<string, number>): string {
  const entries = Object.entries(tally);
  return entries.length === 0 ? 'none' : entries.map(([key, value]) => `${key}: ${formatCount(value)}`).join(', ');
}
