import type { MessageQueue } from '@tern/protocol';
import type { TopicPublishInfo } from './route.js';

/*
 * Send latency fault tolerance (RocketMQ's MQFaultStrategy + LatencyFaultToleranceImpl): after a send to a broker
 * took long or failed, the broker is avoided for a while. The tables are Java's:
 *
 *   latency of the send ≥  50 ms   100 ms  550 ms  1 s    2 s     3 s     15 s (a failure counts as 30 s)
 *   broker avoided for      0       0       30 s    60 s   120 s   180 s   600 s
 *
 * Queue choice (selectOneMessageQueue), in order, each pass walking the topic's queues round robin:
 *   1. a queue of an available broker other than the one the previous attempt used;
 *   2. a queue of any available broker;
 *   3. every broker is being avoided: round robin avoiding the previous attempt's broker (Java's choice without
 *      fault tolerance), so a send is still tried rather than refused.
 * Java 4.9 skips the "other than the previous broker" rule in pass 1 (a retry could hit the broker that just
 * failed when the fault table had not caught up); RocketMQ 5 added it, and so does Tern.
 * With fault tolerance disabled only the last rule applies (Java 4.9's default).
 */

export const LATENCY_MAX_MS_DEFAULT: readonly number[] = Object.freeze([50, 100, 550, 1_000, 2_000, 3_000, 15_000]);
export const NOT_AVAILABLE_DURATION_MS_DEFAULT: readonly number[] = Object.freeze([0, 0, 30_000, 60_000, 120_000, 180_000, 600_000]);
/** The latency a failed send is charged with (Java: `isolation ? 30000 : currentLatency`). */
export const ISOLATION_LATENCY_MS = 30_000;

interface FaultItem {
  currentLatencyMs: number;
  /** The broker is available again from this time (ms since the epoch). */
  availableFromMs: number;
}

/** Per-broker "avoid until" table (LatencyFaultToleranceImpl). */
export class LatencyFaultTolerance {
  private readonly items = new Map<string, FaultItem>();

  constructor(private readonly nowMs: () => number = Date.now) {}

  updateFaultItem(brokerName: string, currentLatencyMs: number, notAvailableDurationMs: number): void {
    this.items.set(brokerName, { currentLatencyMs, availableFromMs: this.nowMs() + notAvailableDurationMs });
  }

  /** True unless the broker is inside its not-available window. */
  isAvailable(brokerName: string): boolean {
    const item = this.items.get(brokerName);
    return item === undefined || this.nowMs() >= item.availableFromMs;
  }

  remove(brokerName: string): void {
    this.items.delete(brokerName);
  }

  /** Milliseconds until `brokerName` is available again (0 when it is). */
  remainingMs(brokerName: string): number {
    const item = this.items.get(brokerName);
    return item === undefined ? 0 : Math.max(0, item.availableFromMs - this.nowMs());
  }

  /** Brokers with a fault item, for diagnostics. */
  snapshot(): Array<{ brokerName: string; currentLatencyMs: number; availableFromMs: number }> {
    return [...this.items].map(([brokerName, item]) => ({ brokerName, ...item }));
  }
}

export interface FaultStrategyOptions {
  /** Avoid slow or failing brokers (Java's sendLatencyFaultEnable). @defaultValue true */
  enabled?: boolean;
  latencyMaxMs?: readonly number[];
  notAvailableDurationMs?: readonly number[];
  nowMs?: () => number;
}

export class MQFaultStrategy {
  readonly enabled: boolean;
  readonly tolerance: LatencyFaultTolerance;
  private readonly latencyMaxMs: readonly number[];
  private readonly notAvailableDurationMs: readonly number[];

  constructor(options: FaultStrategyOptions = {}) {
    this.enabled = options.enabled ?? true;
    this.latencyMaxMs = options.latencyMaxMs ?? LATENCY_MAX_MS_DEFAULT;
    this.notAvailableDurationMs = options.notAvailableDurationMs ?? NOT_AVAILABLE_DURATION_MS_DEFAULT;
    if (this.latencyMaxMs.length !== this.notAvailableDurationMs.length) {
      throw new RangeError('latencyMaxMs and notAvailableDurationMs must have the same length');
    }
    this.tolerance = new LatencyFaultTolerance(options.nowMs);
  }

  /** How long to avoid a broker after a send that took `latencyMs` (computeNotAvailableDuration). */
  notAvailableDurationFor(latencyMs: number): number {
    for (let i = this.latencyMaxMs.length - 1; i >= 0; i--) {
      if (latencyMs >= this.latencyMaxMs[i]!) return this.notAvailableDurationMs[i]!;
    }
    return 0;
  }

  /** Records a send to `brokerName` that took `latencyMs`; `failed` charges it as a 30 s send. */
  updateFaultItem(brokerName: string, latencyMs: number, failed: boolean): void {
    if (!this.enabled) return;
    const duration = this.notAvailableDurationFor(failed ? ISOLATION_LATENCY_MS : latencyMs);
    this.tolerance.updateFaultItem(brokerName, latencyMs, duration);
  }

  /** The queue for the next attempt (see the rules at the top of this file). Null when the topic has no queue. */
  selectOneMessageQueue(info: TopicPublishInfo, lastBrokerName: string | null): MessageQueue | null {
    const queues = info.messageQueues;
    if (queues.length === 0) return null;
    if (this.enabled) {
      const preferred = this.firstQueue(info, (q) => q.brokerName !== lastBrokerName && this.tolerance.isAvailable(q.brokerName));
      if (preferred !== null) return preferred;
      const available = this.firstQueue(info, (q) => this.tolerance.isAvailable(q.brokerName));
      if (available !== null) return available;
    }
    return info.selectAvoiding(lastBrokerName);
  }

  private firstQueue(info: TopicPublishInfo, accept: (queue: MessageQueue) => boolean): MessageQueue | null {
    const queues = info.messageQueues;
    for (let i = 0; i < queues.length; i++) {
      const queue = queues[info.nextIndex() % queues.length];
      if (queue !== undefined && accept(queue)) return queue;
    }
    return null;
  }
}
