import type { MessageQueue } from '@tern/protocol';

interface Lock {
  clientId: string;
  lastUpdateMs: number;
}

/**
 * Queue locks for orderly consumers (LOCK_BATCH_MQ / UNLOCK_BATCH_MQ): a lease per (group, topic, brokerName,
 * queueId), renewed by the holder's next lock call and free for others once `lockMaxLiveTimeMs` passes.
 */
export class RebalanceLockManager {
  private readonly locks = new Map<string, Map<string, Map<string, Map<number, Lock>>>>();

  constructor(private readonly options: { lockMaxLiveTimeMs: number; nowMs: () => number }) {}

  private queueLocks(group: string, queue: MessageQueue): Map<number, Lock> {
    let byTopic = this.locks.get(group);
    if (!byTopic) this.locks.set(group, (byTopic = new Map()));
    let byBroker = byTopic.get(queue.topic);
    if (!byBroker) byTopic.set(queue.topic, (byBroker = new Map()));
    let byQueue = byBroker.get(queue.brokerName);
    if (!byQueue) byBroker.set(queue.brokerName, (byQueue = new Map()));
    return byQueue;
  }

  /** Locks what is free or already ours; returns the queues now held by `clientId`. */
  tryLockBatch(group: string, queues: MessageQueue[], clientId: string): MessageQueue[] {
    const nowMs = this.options.nowMs();
    const locked: MessageQueue[] = [];
    for (const queue of queues) {
      const byQueue = this.queueLocks(group, queue);
      const lock = byQueue.get(queue.queueId);
      const expired = !lock || nowMs - lock.lastUpdateMs > this.options.lockMaxLiveTimeMs;
      if (expired || lock.clientId === clientId) {
        byQueue.set(queue.queueId, { clientId, lastUpdateMs: nowMs });
        locked.push(queue);
      }
    }
    return locked;
  }

  unlockBatch(group: string, queues: MessageQueue[], clientId: string): void {
    for (const queue of queues) {
      const byQueue = this.queueLocks(group, queue);
      if (byQueue.get(queue.queueId)?.clientId === clientId) byQueue.delete(queue.queueId);
    }
  }

  isLockedBy(group: string, queue: MessageQueue, clientId: string): boolean {
    const lock = this.locks.get(group)?.get(queue.topic)?.get(queue.brokerName)?.get(queue.queueId);
    return lock !== undefined && lock.clientId === clientId && this.options.nowMs() - lock.lastUpdateMs <= this.options.lockMaxLiveTimeMs;
  }
}
