/** A pull that found nothing, waiting for a message on its queue or for its suspend timeout. */
interface HeldPull {
  queueOffset: number;
  tagsFilter: ((tagsCode: number) => boolean) | null;
  timer: NodeJS.Timeout;
  wake: () => void;
}

/**
 * Long polling (RocketMQ's PullRequestHoldService): a pull with nothing new is held per topic and queue, and woken
 * the moment the store dispatches a message for that queue past the pull's offset (and matching its tag filter),
 * or answered when its suspend timeout runs out. Waking re-runs the pull; the processor sends the response.
 */
export class PullHoldService {
  private readonly held = new Map<string, Map<number, Set<HeldPull>>>();
  private heldCount = 0;

  constructor(private readonly heldPullsMax = 100_000) {}

  /** Holds a pull; returns false when too many are held already (the caller answers at once). */
  hold(topic: string, queueId: number, queueOffset: number, timeoutMs: number, tagsFilter: HeldPull['tagsFilter'], wake: () => void): boolean {
    if (this.heldCount >= this.heldPullsMax) return false;
    let byQueue = this.held.get(topic);
    if (!byQueue) this.held.set(topic, (byQueue = new Map()));
    let pulls = byQueue.get(queueId);
    if (!pulls) byQueue.set(queueId, (pulls = new Set()));
    const set = pulls;
    const pull: HeldPull = {
      queueOffset, tagsFilter, wake,
      timer: setTimeout(() => this.release(topic, queueId, set, pull), Math.max(0, timeoutMs)),
    };
    set.add(pull);
    this.heldCount++;
    return true;
  }

  /** The store dispatched a message: wake held pulls of that queue that it satisfies. */
  notifyMessageArrived(topic: string, queueId: number, maxQueueOffset: number, tagsCode: number): void {
    const pulls = this.held.get(topic)?.get(queueId);
    if (!pulls) return;
    for (const pull of pulls) {
      if (pull.queueOffset >= maxQueueOffset) continue;
      if (pull.tagsFilter && !pull.tagsFilter(tagsCode)) continue;
      this.release(topic, queueId, pulls, pull);
    }
  }

  private release(topic: string, queueId: number, pulls: Set<HeldPull>, pull: HeldPull): void {
    if (!pulls.delete(pull)) return;
    clearTimeout(pull.timer);
    this.heldCount--;
    if (pulls.size === 0) {
      const byQueue = this.held.get(topic);
      byQueue?.delete(queueId);
      if (byQueue?.size === 0) this.held.delete(topic);
    }
    pull.wake();
  }

  /** Answers every held pull now (shutdown). */
  releaseAll(): void {
    for (const [topic, byQueue] of [...this.held]) {
      for (const [queueId, pulls] of [...byQueue]) for (const pull of [...pulls]) this.release(topic, queueId, pulls, pull);
    }
  }

  get size(): number {
    return this.heldCount;
  }
}
