import type { MessageExt } from '../message.js';
import type { MessageQueue } from '../route.js';

/*
 * The pull consumer's hand-over between its background pulls and the application's poll() (Java's
 * DefaultLitePullConsumerImpl.consumeRequestCache): a FIFO of pull results, each the messages of one pull of one
 * queue in queue order. Bounded by the consumer's flow control (a queue stops pulling while it has
 * pullThresholdForQueue messages here; every queue stops at pullThresholdForAll), not by this class.
 */

/** One pull's worth of messages of one queue. */
export interface ConsumeRequest {
  /** messageQueueKey(mq). */
  key: string;
  mq: MessageQueue;
  /** Messages that passed the tag check, in queue order; empty for a pull whose messages were all filtered. */
  messages: MessageExt[];
  /** The pull's nextBeginOffset: the queue's consume offset once these messages are handed out. */
  nextOffset: number;
  /** The queue's generation when pulled (a seek or a reassignment makes older requests stale). */
  generation: number;
  /** Body bytes of `messages`. */
  bytes: number;
}

/**
 * An event that wakes whoever waits for it at the moment it fires. Waiters register a callback and remove it when
 * they stop waiting, so a long-lived trigger that rarely fires (a seek, shutdown) holds no garbage from the many
 * waits that ended otherwise (Promise.race on a never-settling promise would keep one reaction per wait).
 */
export class Trigger {
  private readonly listeners = new Set<() => void>();

  /** Calls every registered listener once and forgets them. */
  fire(): void {
    if (this.listeners.size === 0) return;
    const listeners = [...this.listeners];
    this.listeners.clear();
    for (const listener of listeners) listener();
  }

  /** Calls `listener` at the next fire(); returns the function that unregisters it. */
  once(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /** Waiters registered now (for tests and diagnostics). */
  get waiting(): number {
    return this.listeners.size;
  }
}

/** Resolves after `ms` or at the first fire of any of `triggers`, whichever is first; leaves nothing registered. */
export function waitFor(ms: number, triggers: readonly Trigger[]): Promise<void> {
  return new Promise<void>((resolve) => {
    const unregister: Array<() => void> = [];
    const done = (): void => {
      clearTimeout(timer);
      for (const off of unregister) off();
      resolve();
    };
    const timer = setTimeout(done, Math.max(0, ms));
    for (const trigger of triggers) unregister.push(trigger.once(done));
  });
}

/** `task`'s outcome, or null as soon as `trigger` fires first (the task's later outcome is then ignored). */
export function unlessFired<T>(task: Promise<T>, trigger: Trigger): Promise<T | null> {
  return new Promise<T | null>((resolve, reject) => {
    const off = trigger.once(() => resolve(null));
    task.then((value) => {
      off();
      resolve(value);
    }, (error: unknown) => {
      off();
      reject(error);
    });
  });
}

export class ConsumeRequestBuffer {
  private items: ConsumeRequest[] = [];
  /** Fires when a request is added or wake() is called. */
  readonly arrived = new Trigger();
  /** Messages held (over every request). */
  messageCount = 0;

  get size(): number {
    return this.items.length;
  }

  push(request: ConsumeRequest): void {
    this.items.push(request);
    this.messageCount += request.messages.length;
    this.arrived.fire();
  }

  /** Wakes every waiter (shutdown, resume). */
  wake(): void {
    this.arrived.fire();
  }

  /**
   * Removes and returns the first request that is not `stale` and not `held` (paused queues); stale requests met on
   * the way are dropped (and passed to `onDrop`). Null when none is ready.
   */
  take(stale: (request: ConsumeRequest) => boolean, held: (request: ConsumeRequest) => boolean,
    onDrop: (request: ConsumeRequest) => void): ConsumeRequest | null {
    for (let i = 0; i < this.items.length;) {
      const request = this.items[i]!;
      if (stale(request)) {
        this.items.splice(i, 1);
        this.messageCount -= request.messages.length;
        onDrop(request);
        continue;
      }
      if (held(request)) {
        i++;
        continue;
      }
      this.items.splice(i, 1);
      this.messageCount -= request.messages.length;
      return request;
    }
    return null;
  }

  /** Removes every request of queue `key` (a seek or a queue taken away); returns them. */
  removeQueue(key: string): ConsumeRequest[] {
    const removed = this.items.filter((request) => request.key === key);
    if (removed.length === 0) return removed;
    this.items = this.items.filter((request) => request.key !== key);
    for (const request of removed) this.messageCount -= request.messages.length;
    return removed;
  }

  clear(): void {
    this.items = [];
    this.messageCount = 0;
  }
}
