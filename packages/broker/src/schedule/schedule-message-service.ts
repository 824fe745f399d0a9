import type { Clock, Logger } from '@tern/common';
import { decodeMessageRecord } from '@tern/protocol';
import { type FileSystem, type MessageStore, SCHEDULE_TOPIC } from '@tern/store';
import { JsonConfigFile } from '../config/json-config-file.js';
import { fromScheduled } from './delay-message.js';

interface DelayOffsetsFile {
  /** delay level → next queue offset to deliver (RocketMQ's delayOffset.json). */
  offsetTable: Record<string, number>;
}

const BATCH_MESSAGES = 32;
const ROUNDS_PER_RUN_MAX = 64;
const IDLE_CHECK_MS = 1_000;
const PUT_RETRY_MS = 1_000;

/**
 * Delivers delay-level messages (RocketMQ's ScheduleMessageService). Each level is one queue of
 * SCHEDULE_TOPIC_XXXX; messages in a level are due in store order, so one cursor per level suffices. A message is
 * re-put to its real topic when storeTime + delay has passed, never earlier; the cursor is persisted in
 * config/delayOffset.json, so delivery resumes after a restart (a message delivered just before a crash may be
 * delivered again: at least once).
 */
export class ScheduleMessageService {
  private readonly nextOffsets = new Map<number, number>();
  private readonly running = new Set<number>();
  private readonly timers = new Map<number, NodeJS.Timeout>();
  private readonly file: JsonConfigFile<DelayOffsetsFile>;
  private idleTimer: NodeJS.Timeout | null = null;
  private stopped = false;
  private dirty = false;

  constructor(
    private readonly store: MessageStore,
    fs: FileSystem,
    configDir: string,
    private readonly delayLevelsMs: number[],
    private readonly clock: Clock,
    private readonly logger: Logger,
  ) {
    this.file = new JsonConfigFile(fs, `${configDir}/delayOffset.json`);
  }

  async load(): Promise<void> {
    const loaded = await this.file.load((json) => json as DelayOffsetsFile);
    for (const [level, offset] of Object.entries(loaded?.offsetTable ?? {})) {
      if (Number.isInteger(Number(level)) && Number.isSafeInteger(offset)) this.nextOffsets.set(Number(level), offset);
    }
  }

  start(): void {
    for (let level = 1; level <= this.delayLevelsMs.length; level++) this.wake(level);
    // A safety net: levels are also woken by arrivals and by their own due-time timers.
    this.idleTimer = setInterval(() => {
      for (let level = 1; level <= this.delayLevelsMs.length; level++) this.wake(level);
    }, IDLE_CHECK_MS);
    this.idleTimer.unref();
  }

  /** The store dispatched a message to SCHEDULE_TOPIC_XXXX queue `queueId`. */
  onMessageArrived(queueId: number): void {
    this.wake(queueId + 1);
  }

  private wake(level: number): void {
    if (this.stopped || this.running.has(level) || level < 1 || level > this.delayLevelsMs.length) return;
    this.running.add(level);
    this.deliverLevel(level)
      .catch((error: Error) => this.logger.error('delay level delivery failed', { level, error: error.message }))
      .finally(() => this.running.delete(level));
  }

  private scheduleWake(level: number, delayMs: number): void {
    if (this.stopped) return;
    clearTimeout(this.timers.get(level));
    const timer = setTimeout(() => {
      this.timers.delete(level);
      this.wake(level);
    }, Math.max(1, delayMs));
    timer.unref();
    this.timers.set(level, timer);
  }

  private async deliverLevel(level: number): Promise<void> {
    const queueId = level - 1;
    const delayMs = this.delayLevelsMs[level - 1]!;
    for (let round = 0; round < ROUNDS_PER_RUN_MAX && !this.stopped; round++) {
      const offset = this.nextOffsets.get(level) ?? this.store.getMinOffsetInQueue(SCHEDULE_TOPIC, queueId);
      const result = await this.store.getMessage(SCHEDULE_TOPIC, queueId, offset, BATCH_MESSAGES);
      if (result.status === 'OFFSET_TOO_SMALL' || result.status === 'OFFSET_OVERFLOW_BADLY') {
        this.setOffset(level, result.nextBeginOffset);
        continue;
      }
      if (result.status !== 'FOUND') {
        if (result.nextBeginOffset > offset) this.setOffset(level, result.nextBeginOffset);
        return;
      }
      for (let i = 0; i < result.messages.length; i++) {
        const record = decodeMessageRecord(result.messages[i]!);
        const dueMs = record.storeTimestampMs + delayMs;
        const nowMs = this.clock.nowMs();
        if (dueMs > nowMs) return this.scheduleWake(level, dueMs - nowMs);
        const target = fromScheduled(record.properties);
        if (target) {
          const put = await this.store.putMessage({
            topic: target.topic, queueId: target.queueId, flag: record.flag, body: record.body, properties: target.properties,
            sysFlag: record.sysFlag, bornTimestampMs: record.bornTimestampMs, bornHost: record.bornHost,
            reconsumeTimes: record.reconsumeTimes, preparedTransactionOffset: record.preparedTransactionOffset,
          });
          if (put.status !== 'PUT_OK') {
            this.logger.warn('delayed message not delivered yet', { level, status: put.status, remark: put.remark });
            return this.scheduleWake(level, PUT_RETRY_MS);
          }
        } else {
          this.logger.warn('scheduled message without REAL_TOPIC skipped', { level, queueOffset: result.queueOffsets[i] });
        }
        this.setOffset(level, result.queueOffsets[i]! + 1);
      }
    }
    // More due messages than one run takes: continue on the next turn instead of hogging the loop.
    if (!this.stopped) setImmediate(() => this.wake(level));
  }

  private setOffset(level: number, offset: number): void {
    if (this.nextOffsets.get(level) === offset) return;
    this.nextOffsets.set(level, offset);
    this.dirty = true;
  }

  async persist(): Promise<void> {
    if (!this.dirty) return;
    this.dirty = false;
    const offsetTable: Record<string, number> = {};
    for (const [level, offset] of [...this.nextOffsets.entries()].sort((a, b) => a[0] - b[0])) offsetTable[String(level)] = offset;
    await this.file.persist({ offsetTable });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.idleTimer) clearInterval(this.idleTimer);
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    // Bounded wait for runs in progress (each run is bounded); then the cursor is final.
    for (let i = 0; i < 100 && this.running.size > 0; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    this.dirty = true;
    await this.persist();
  }
}
