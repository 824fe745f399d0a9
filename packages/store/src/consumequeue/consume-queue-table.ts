import type { FileSystem } from '../io/file-system.js';
import { ConsumeQueue } from './consume-queue.js';

/** Every ConsumeQueue of the store: consumequeue/<topic>/<queueId>/. Keyed by topic, then queue id. */
export class ConsumeQueueTable {
  private readonly byTopic = new Map<string, Map<number, ConsumeQueue>>();

  constructor(
    private readonly fs: FileSystem,
    private readonly rootDir: string,
    private readonly unitsPerFile: number,
  ) {}

  async load(): Promise<void> {
    await this.fs.mkdirp(this.rootDir);
    for (const topic of await this.fs.readdir(this.rootDir)) {
      for (const queueName of await this.fs.readdir(`${this.rootDir}/${topic}`)) {
        if (!/^\d+$/.test(queueName)) continue;
        const queue = this.create(topic, Number(queueName));
        await queue.load();
      }
    }
  }

  get(topic: string, queueId: number): ConsumeQueue | undefined {
    return this.byTopic.get(topic)?.get(queueId);
  }

  findOrCreate(topic: string, queueId: number): ConsumeQueue {
    return this.get(topic, queueId) ?? this.create(topic, queueId);
  }

  private create(topic: string, queueId: number): ConsumeQueue {
    let byQueue = this.byTopic.get(topic);
    if (!byQueue) {
      byQueue = new Map();
      this.byTopic.set(topic, byQueue);
    }
    const topicDir = `${this.rootDir}/${topic}`;
    const queue = new ConsumeQueue(this.fs, topic, queueId, `${topicDir}/${queueId}`, this.unitsPerFile, [topicDir, this.rootDir]);
    byQueue.set(queueId, queue);
    return queue;
  }

  all(): ConsumeQueue[] {
    const queues: ConsumeQueue[] = [];
    for (const byQueue of this.byTopic.values()) queues.push(...byQueue.values());
    return queues;
  }

  list(): Array<{ topic: string; queueId: number }> {
    return this.all().map((q) => ({ topic: q.topic, queueId: q.queueId }));
  }

  async flushAll(): Promise<void> {
    for (const queue of this.all()) if (queue.dirty) await queue.flush();
  }

  async closeAll(): Promise<void> {
    for (const queue of this.all()) await queue.close();
    this.byTopic.clear();
  }
}
