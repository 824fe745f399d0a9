import assert from 'node:assert/strict';
import { ResponseCode } from '@tern/protocol';
import { type BrokerOptions, Harness, type TernProcess, type TestClient, waitFor } from '@tern/testkit';
import { Producer } from '../src/index.js';
import { unique } from './pull-consumer-helpers.js';

export { unique };

/*
 * Shared set-up of the push consumer tests: real `tern namesrv` and `tern broker` processes (127.0.0.1, temporary
 * data) per test file, topics created with the wanted queue count, producers and consumers shut down at the end.
 */

export class PushConsumerFixture {
  readonly harness = new Harness();
  namesrv!: TernProcess;
  broker!: TernProcess;
  client!: TestClient;
  private readonly closers: Array<() => Promise<void>> = [];

  /** Starts the name server, then a broker registering with it (`brokerOptions`: the rest of its options). */
  async start(brokerOptions: () => BrokerOptions | Promise<BrokerOptions>): Promise<void> {
    this.namesrv = await this.harness.namesrv();
    this.broker = await this.harness.broker({ namesrv: this.namesrv.address, ...await brokerOptions() });
    this.client = this.harness.client();
  }

  /** Runs `close` at stop() (the last registered first). */
  onStop(close: () => Promise<void>): void {
    this.closers.push(close);
  }

  async stop(): Promise<void> {
    await Promise.allSettled(this.closers.splice(0).reverse().map((close) => close()));
    await this.harness.cleanup();
  }

  /** A new topic with `queues` queues, once the name server's route shows them. */
  async createTopic(topic: string, queues: number): Promise<void> {
    const answer = await this.client.createTopic(this.broker.address, topic, { readQueueNums: queues, writeQueueNums: queues });
    assert.equal(answer.code, ResponseCode.SUCCESS, `create ${topic}: ${answer.remark ?? ''}`);
    await waitFor(async () => {
      const route = await this.client.getRoute(this.namesrv.address, topic);
      return route.code === ResponseCode.SUCCESS && route.route?.queueDatas[0]?.readQueueNums === queues;
    }, { timeoutMs: 10_000, description: `route of ${topic}` });
  }

  /** A started producer, shut down at stop(). */
  async producer(instanceName: string, producerGroup = unique('PG')): Promise<Producer> {
    const p = new Producer({ producerGroup, namesrvAddr: this.namesrv.address, instanceName, clientIP: '127.0.0.1' });
    await p.start();
    this.onStop(() => p.shutdown());
    return p;
  }
}
