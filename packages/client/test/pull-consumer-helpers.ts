import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { ResponseCode } from '@tern/protocol';
import { Harness, type TernProcess, type TestClient, waitFor } from '@tern/testkit';
import { type MessageExt, Producer, PullConsumer, type PullConsumerOptions } from '../src/index.js';

/*
 * Shared set-up of the pull consumer tests: one `tern start` (name server + broker) per test file, topics created
 * with the wanted queue count, consumers and producers that the file shuts down at the end.
 */

let seq = 0;

export function unique(prefix: string): string {
  return `${prefix}_${randomUUID().slice(0, 8)}`;
}

export class PullConsumerFixture {
  readonly harness = new Harness();
  server!: TernProcess;
  client!: TestClient;
  private readonly consumers: PullConsumer[] = [];
  private producer: Producer | null = null;

  get namesrv(): string {
    return this.server.namesrvAddress!;
  }

  get broker(): string {
    return this.server.brokerAddress!;
  }

  async start(): Promise<void> {
    this.server = await this.harness.allInOne({});
    this.client = this.harness.client();
    await this.waitForRoute('TBW102');
  }

  async stop(): Promise<void> {
    await Promise.allSettled(this.consumers.map((consumer) => consumer.shutdown()));
    await this.producer?.shutdown();
    await this.harness.cleanup();
  }

  async waitForRoute(topic: string): Promise<void> {
    await waitFor(async () => (await this.client.getRoute(this.namesrv, topic)).code === ResponseCode.SUCCESS,
      { timeoutMs: 10_000, description: `route of ${topic}` });
  }

  /** A new topic with `queues` queues, known to the name server. */
  async topic(queues: number, prefix = 'PC'): Promise<string> {
    const topic = unique(prefix);
    const answer = await this.client.createTopic(this.broker, topic, { readQueueNums: queues, writeQueueNums: queues });
    assert.equal(answer.code, ResponseCode.SUCCESS, answer.remark ?? '');
    await this.waitForRoute(topic);
    return topic;
  }

  /** A pull consumer (not started), shut down with the fixture. Every consumer gets its own client instance. */
  consumer(options: Partial<PullConsumerOptions> & { consumerGroup: string }): PullConsumer {
    const consumer = new PullConsumer({
      namesrvAddr: this.namesrv, clientIP: '127.0.0.1', instanceName: `pc-${process.pid}-${++seq}`, ...options,
    });
    this.consumers.push(consumer);
    return consumer;
  }

  async sharedProducer(): Promise<Producer> {
    if (this.producer === null) {
      this.producer = new Producer({
        producerGroup: unique('PC_PG'), namesrvAddr: this.namesrv, clientIP: '127.0.0.1', instanceName: `pc-producer-${process.pid}`,
      });
      await this.producer.start();
    }
    return this.producer;
  }

  /** Sends `bodies` to `topic`, `queueId`, one request each, in order; returns the queue offsets. */
  async sendToQueue(topic: string, queueId: number, bodies: string[], properties: Record<string, string> = {}): Promise<number[]> {
    const offsets: number[] = [];
    for (const body of bodies) {
      const answer = await this.client.send(this.broker, topic, queueId, body, properties);
      assert.equal(answer.code, ResponseCode.SUCCESS, answer.remark ?? '');
      offsets.push(answer.queueOffset!);
    }
    return offsets;
  }
}

/** Polls until `count` messages arrived (or `timeoutMs` passed); returns them in arrival order. */
export async function pollUntil(consumer: PullConsumer, count: number, timeoutMs = 20_000): Promise<MessageExt[]> {
  const received: MessageExt[] = [];
  const deadline = performance.now() + timeoutMs;
  // Bounded by the deadline.
  while (received.length < count && performance.now() < deadline) {
    received.push(...await consumer.poll(Math.max(1, Math.min(500, deadline - performance.now()))));
  }
  return received;
}

/** Polls for `ms` and returns whatever arrived. */
export async function pollFor(consumer: PullConsumer, ms: number): Promise<MessageExt[]> {
  const received: MessageExt[] = [];
  const deadline = performance.now() + ms;
  while (performance.now() < deadline) received.push(...await consumer.poll(Math.max(1, deadline - performance.now())));
  return received;
}

export function bodies(messages: readonly MessageExt[]): string[] {
  return messages.map((message) => message.body.toString('utf8'));
}

export function range(from: number, to: number): number[] {
  return Array.from({ length: to - from }, (_, i) => from + i);
}
