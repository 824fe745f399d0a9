import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { sleep, waitFor, withTimeout } from '@tern/testkit';
import { Message } from '../src/index.js';
import { PushConsumerFixture, unique } from './push-consumer-helpers.js';

/*
 * Push consumers in child processes (test/fixtures/push-consumer-child.ts) against real `tern` processes: orderly
 * consumption while members join and leave, and reassignment after a member is killed with SIGKILL.
 */

const CHILD = fileURLToPath(new URL('./fixtures/push-consumer-child.js', import.meta.url));

interface ChildEvent {
  e: 'ready' | 'msg' | 'alloc' | 'stopped';
  clientId?: string;
  k?: string;
  s?: number;
  id?: string;
  q?: number;
  o?: number;
  r?: number;
  t?: number;
  queues?: number[];
}

interface Delivery extends ChildEvent {
  child: string;
}

/** One consumer process; its JSON lines are collected. */
class ConsumerChild {
  readonly events: ChildEvent[] = [];
  private readonly process: ChildProcess;
  private stderr = '';
  private readonly exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(readonly name: string, config: Record<string, unknown>) {
    this.process = spawn(process.execPath, [CHILD], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, PUSH_CONSUMER_CHILD: JSON.stringify({ instanceName: name, ...config }) },
    });
    let pending = '';
    this.process.stdout!.setEncoding('utf8');
    this.process.stdout!.on('data', (text: string) => {
      pending += text;
      let newline = pending.indexOf('\n');
      // Bounded by the chunk: one pass per complete line.
      while (newline >= 0) {
        const line = pending.slice(0, newline);
        pending = pending.slice(newline + 1);
        if (line.startsWith('{')) this.events.push(JSON.parse(line) as ChildEvent);
        newline = pending.indexOf('\n');
      }
    });
    this.process.stderr!.setEncoding('utf8');
    this.process.stderr!.on('data', (text: string) => {
      this.stderr = (this.stderr + text).slice(-20_000);
    });
    this.exit = new Promise((resolve) => this.process.once('exit', (code, signal) => resolve({ code, signal })));
  }

  get running(): boolean {
    return this.process.exitCode === null && this.process.signalCode === null;
  }

  get log(): string {
    return this.stderr;
  }

  deliveries(): Delivery[] {
    return this.events.filter((e) => e.e === 'msg').map((e) => ({ ...e, child: this.name }));
  }

  allocation(): number[] {
    return this.events.filter((e) => e.e === 'alloc').at(-1)?.queues ?? [];
  }

  async ready(): Promise<void> {
    await waitFor(() => this.events.some((e) => e.e === 'ready') || !this.running,
      { timeoutMs: 15_000, description: `${this.name} ready` });
    if (!this.running) throw new Error(`${this.name} exited before ready:\n${this.stderr}`);
  }

  /** SIGTERM: the child shuts its consumer down and exits. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.process.kill('SIGTERM');
    const exit = await withTimeout(this.exit, 20_000, `${this.name} graceful stop`).catch(async (error: unknown) => {
      this.process.kill('SIGKILL');
      throw error;
    });
    assert.equal(exit.code, 0, `${this.name} exit: ${JSON.stringify(exit)}\n${this.stderr}`);
  }

  async kill(): Promise<void> {
    if (!this.running) return;
    this.process.kill('SIGKILL');
    await withTimeout(this.exit, 10_000, `${this.name} SIGKILL`);
  }
}

describe('push consumers in several processes', () => {
  const fixture = new PushConsumerFixture();
  const children: ConsumerChild[] = [];

  before(() => fixture.start(() => ({ config: { brokerName: 'broker-a', clientChannelExpiredTimeout: 5_000 } })));

  after(async () => {
    await Promise.allSettled(children.map((c) => c.kill()));
    await fixture.stop();
  });

  function child(name: string, config: Record<string, unknown>): ConsumerChild {
    const c = new ConsumerChild(name, {
      namesrvAddr: fixture.namesrv.address, rebalanceIntervalMs: 1_000, heartbeatBrokerIntervalMs: 1_000, ...config,
    });
    children.push(c);
    return c;
  }

  it('orderly: per sharding key order over 8 queues while 3 consumer processes join and leave', async (t) => {
    const topic = unique('PCord');
    const group = unique('CGord');
    await fixture.createTopic(topic, 8);
    const config = { group, topic, orderly: true, unlockDelayTimeMillis: 1_000, consumeDelayMs: 2 };
    const keys = Array.from({ length: 24 }, (_, i) => `key-${i}`);
    const rounds = 50;
    const p = await fixture.producer(unique('pcp'));

    const a = child(unique('A'), config);
    await a.ready();
    let sending = true;
    // Sends of one key are sequential (round after round), so each key's messages are stored in order in its queue.
    // A send that fails is tried again (at worst the message is stored twice, in order).
    const sendOrdered = async (key: string, s: number): Promise<void> => {
      let lastError: unknown = null;
      for (let attempt = 1; attempt <= 3; attempt++) {
        try {
          await p.send(new Message(topic, `${key}:${s}`, { keys: key, properties: { seq: String(s) } }), { selector: key });
          return;
        } catch (error) {
          lastError = error;
        }
      }
      throw new Error(`send ${key}:${s} failed 3 times: ${(lastError as Error).message}`);
    };
    const sender = (async () => {
      for (let s = 0; s < rounds; s++) {
        await Promise.all(keys.map((key) => sendOrdered(key, s)));
        await sleep(200);
      }
      sending = false;
    })();
    sender.catch(() => undefined); // awaited below; keeps an early failure from being reported as unhandled
    await sleep(2_500);
    const b = child(unique('B'), config);
    await b.ready();
    await sleep(2_500);
    const c = child(unique('C'), config);
    await c.ready();
    await sleep(2_500);
    await a.stop();
    await sleep(2_500);
    await b.stop();
    await sender;
    assert.equal(sending, false);

    const all = (): Delivery[] => [a, b, c].flatMap((x) => x.deliveries());
    const total = keys.length * rounds;
    await waitFor(() => new Set(all().map((d) => `${d.k}:${d.s}`)).size >= total,
      { timeoutMs: 60_000, intervalMs: 200, description: 'every message consumed' });
    await c.stop();

    const deliveries = all().sort((x, y) => x.t! - y.t!);
    const firstSeen = new Map<string, number>();
    const violations: string[] = [];
    for (const d of deliveries) {
      if (d.s! > 0 && !firstSeen.has(`${d.k}:${d.s! - 1}`)) violations.push(`${d.k}:${d.s} by ${d.child} before ${d.k}:${d.s! - 1}`);
      if (!firstSeen.has(`${d.k}:${d.s}`)) firstSeen.set(`${d.k}:${d.s}`, d.t!);
    }
    const lost = keys.flatMap((key) => Array.from({ length: rounds }, (_, s) => `${key}:${s}`)).filter((id) => !firstSeen.has(id));
    assert.deepEqual(violations, [], 'order violations');
    assert.deepEqual(lost, [], 'lost messages');
    for (const x of [a, b, c]) assert.ok(x.deliveries().length > 0, `${x.name} consumed something`);
    // Within one process a key's messages come in queue order, except for a redelivery after a queue changed hands.
    const duplicates = deliveries.length - firstSeen.size;
    t.diagnostic(`${deliveries.length} deliveries of ${total} messages (${duplicates} redelivered); per process: `
      + [a, b, c].map((x) => `${x.name} ${x.deliveries().length} [${x.events.filter((e) => e.e === 'alloc').map((e) => e.queues!.join('.')).join(' → ')}]`).join('; '));
    assert.ok(duplicates < total, `duplicates ${duplicates}`);
  });

  it('a consumer process killed with SIGKILL: its queues are reassigned and nothing is lost', async (t) => {
    const topic = unique('PCkill');
    const group = unique('CGkill');
    await fixture.createTopic(topic, 8);
    const config = { group, topic, orderly: false };
    const p1 = child(unique('P1'), config);
    const p2 = child(unique('P2'), config);
    await Promise.all([p1.ready(), p2.ready()]);
    await waitFor(() => p1.allocation().length === 4 && p2.allocation().length === 4,
      { timeoutMs: 15_000, description: 'the 8 queues split over the two processes' });
    const p = await fixture.producer(unique('pcp'));
    const total = 1_500;
    let killedAfter = -1;
    for (let i = 0; i < total; i++) {
      await p.send(new Message(topic, `m${i}`, { properties: { seq: String(i) } }));
      if (i === 500) {
        await p1.kill();
        killedAfter = i;
      }
      if (i % 100 === 99) await sleep(100);
    }
    await waitFor(() => p2.allocation().length === 8, { timeoutMs: 15_000, description: 'the survivor owns all 8 queues' });
    const seen = (): Set<number> => new Set([...p1.deliveries(), ...p2.deliveries()].map((d) => d.s!));
    await waitFor(() => seen().size >= total, { timeoutMs: 30_000, intervalMs: 200, description: `all ${total} consumed` });
    const survivor = new Set(p2.deliveries().map((d) => d.s!));
    const missingAfterKill = Array.from({ length: total - killedAfter - 1 }, (_, i) => killedAfter + 1 + i).filter((s) => !survivor.has(s));
    assert.deepEqual(missingAfterKill, [], 'the survivor consumed everything sent after the kill');
    assert.equal(seen().size, total, 'nothing lost');
    assert.ok(p1.deliveries().length > 0, 'the killed process had consumed some');
    t.diagnostic(`killed ${p1.name} after ${p1.deliveries().length} deliveries; survivor ${p2.deliveries().length} deliveries, `
      + `allocations ${p2.events.filter((e) => e.e === 'alloc').map((e) => e.queues!.join('.')).join(' → ')}`);
    await p2.stop();
  });
});
