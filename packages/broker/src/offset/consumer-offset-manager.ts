import type { FileSystem } from '@tern/store';
import { JsonConfigFile } from '../config/json-config-file.js';

interface OffsetsFile {
  /** RocketMQ's key form "topic@group" → queueId → committed offset. */
  offsetTable: Record<string, Record<string, number>>;
}

/**
 * Committed consumer offsets (topic → group → queueId → offset), persisted to config/consumerOffset.json in
 * RocketMQ's format every flushConsumerOffsetInterval and on shutdown. In memory the keys stay structured; the
 * "topic@group" string exists only in the file (a group name cannot contain '@', a topic cannot either).
 */
export class ConsumerOffsetManager {
  private readonly offsets = new Map<string, Map<string, Map<number, number>>>();
  private readonly file: JsonConfigFile<OffsetsFile>;
  private dirty = false;

  constructor(fs: FileSystem, configDir: string) {
    this.file = new JsonConfigFile(fs, `${configDir}/consumerOffset.json`);
  }

  async load(): Promise<void> {
    const loaded = await this.file.load((json) => json as OffsetsFile);
    for (const [key, byQueue] of Object.entries(loaded?.offsetTable ?? {})) {
      const at = key.lastIndexOf('@');
      if (at <= 0) continue;
      for (const [queueId, offset] of Object.entries(byQueue)) {
        this.commit(key.slice(at + 1), key.slice(0, at), Number(queueId), Number(offset));
      }
    }
    this.dirty = false;
  }

  /** Stores a committed offset; negative offsets mean "none" (ali-ons sends -1) and are ignored. */
  commit(group: string, topic: string, queueId: number, offset: number): void {
    if (!Number.isSafeInteger(offset) || offset < 0) return;
    let byGroup = this.offsets.get(topic);
    if (!byGroup) this.offsets.set(topic, (byGroup = new Map()));
    let byQueue = byGroup.get(group);
    if (!byQueue) byGroup.set(group, (byQueue = new Map()));
    if (byQueue.get(queueId) !== offset) {
      byQueue.set(queueId, offset);
      this.dirty = true;
    }
  }

  /** The committed offset, or -1 when the group never committed one for the queue. */
  query(group: string, topic: string, queueId: number): number {
    return this.offsets.get(topic)?.get(group)?.get(queueId) ?? -1;
  }

  groupsOfTopic(topic: string): string[] {
    return [...(this.offsets.get(topic)?.keys() ?? [])];
  }

  deleteTopic(topic: string): void {
    if (this.offsets.delete(topic)) this.dirty = true;
  }

  async persist(force = false): Promise<void> {
    if (!this.dirty && !force) return;
    this.dirty = false;
    const offsetTable: OffsetsFile['offsetTable'] = {};
    for (const [topic, byGroup] of this.offsets) {
      for (const [group, byQueue] of byGroup) {
        const queues: Record<string, number> = {};
        for (const [queueId, offset] of [...byQueue.entries()].sort((a, b) => a[0] - b[0])) queues[String(queueId)] = offset;
        offsetTable[`${topic}@${group}`] = queues;
      }
    }
    try {
      await this.file.persist({ offsetTable });
    } catch (error) {
      this.dirty = true;
      throw error;
    }
  }
}
