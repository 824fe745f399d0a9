import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidArgumentError, silentLogger } from '@tern/common';
import { javaStringHashCode } from '@tern/protocol';
import { ConsumeMessageConcurrentlyService } from '../src/consumer/push-consumer-concurrently.js';
import { ConsumeMessageOrderlyService } from '../src/consumer/push-consumer-orderly.js';
import {
  ConsumeConcurrentlyStatus, ConsumeExecutor, type ConsumeServiceHost, type MessageExt, type MessageQueue, Mutex, type OffsetStore,
  ProcessQueue, PushConsumer, type RebalancePushImpl, buildPullSysFlag, buildSubscriptionData, parseConsumeTimestamp,
  resolvePushConsumerOptions,
} from '../src/index.js';

/*
 * The push consumer's parts without a broker: process queue accounting, the consume services over a scripted host,
 * subscriptions and options.
 */

const mq: MessageQueue = { topic: 'T', brokerName: 'b', queueId: 0 };

function message(queueOffset: number, extra: Partial<MessageExt> = {}): MessageExt {
  return {
    topic: 'T', body: Buffer.from(`m${queueOffset}`), flag: 0, msgId: `ID${queueOffset}`, offsetMsgId: `OFF${queueOffset}`, queueId: 0, queueOffset,
    commitLogOffset: 1000 + queueOffset, sysFlag: 0, bornTimestamp: 0, storeTimestamp: 0, bornHost: '127.0.0.1:1', storeHost: '127.0.0.1:2',
    reconsumeTimes: 0, preparedTransactionOffset: 0, bodyCRC: 0, storeSize: 100, properties: {}, tags: undefined, keys: [], delayTimeLevel: 0,
    ...extra,
  };
}

class MemoryOffsets implements OffsetStore {
  readonly offsets = new Map<number, number>();
  async load(): Promise<void> {}
  updateOffset(queue: MessageQueue, offset: number, increaseOnly: boolean): void {
    const current = this.offsets.get(queue.queueId);
    if (current === undefined || !increaseOnly || offset > current) this.offsets.set(queue.queueId, offset);
  }
  async readOffset(queue: MessageQueue): Promise<number> {
    return this.offsets.get(queue.queueId) ?? -1;
  }
  async persistAll(): Promise<void> {}
  async persist(): Promise<void> {}
  removeOffset(queue: MessageQueue): void {
    this.offsets.delete(queue.queueId);
  }
}

interface ScriptedHost extends ConsumeServiceHost {
  offsets: MemoryOffsets;
  scheduled: Array<{ delayMs: number; task: () => Promise<void> | void }>;
  sentBack: Array<{ msgId: string; delayLevel: number; reconsumeTimes: number }>;
  sentAsNew: Array<{ msgId: string; reconsumeTimes: number }>;
  failSendBack: boolean;
}

function host(overrides: Partial<ConsumeServiceHost> = {}): ScriptedHost {
  const offsets = new MemoryOffsets();
  const h: ScriptedHost = {
    consumerGroup: 'G', messageModel: 'CLUSTERING', logger: silentLogger, offsetStore: offsets, offsets,
    rebalance: { lock: async () => true, processQueueTable: new Map() } as unknown as RebalancePushImpl,
    consumeMessageBatchMaxSize: 1, consumeThreadMax: 4, suspendCurrentQueueTimeMillis: 100, consumeTimeoutMs: 60_000, maxReconsumeTimes: 2,
    resetRetryTopic: (messages) => [...messages],
    scheduled: [], sentBack: [], sentAsNew: [], failSendBack: false,
    sendMessageBack: async (m, delayLevel) => {
      if (h.failSendBack) throw new Error('broker down');
      h.sentBack.push({ msgId: m.msgId, delayLevel, reconsumeTimes: m.reconsumeTimes });
    },
    sendMessageBackAsNewMessage: async (m) => {
      h.sentAsNew.push({ msgId: m.msgId, reconsumeTimes: m.reconsumeTimes });
    },
    scheduleLater: (delayMs, task) => h.scheduled.push({ delayMs, task }),
    recordConsumed: () => undefined,
    ...overrides,
  };
  return h;
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

async function settle(predicate: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 500 && !predicate(); i++) await tick();
  assert.ok(predicate(), what);
}

describe('ProcessQueue', () => {
  it('commits up to the smallest offset still in process, or one past the largest pulled', () => {
    const pq = new ProcessQueue();
    assert.equal(pq.putMessage([10, 11, 12, 13, 14].map((o) => message(o))), true);
    assert.equal(pq.msgCount, 5);
    assert.equal(pq.msgSize, 15);
    assert.equal(pq.getMaxSpan(), 4);
    assert.equal(pq.removeMessage([message(11), message(12)]), 10);
    assert.equal(pq.removeMessage([message(10)]), 13);
    assert.equal(pq.removeMessage([message(14)]), 13);
    assert.equal(pq.removeMessage([message(13)]), 15);
    assert.equal(pq.msgCount, 0);
    assert.equal(pq.msgSize, 0);
    assert.equal(pq.removeMessage([message(13)]), -1, 'nothing cached');
    assert.equal(pq.putMessage([message(15)]), false, 'still marked consuming');
  });

  it('orderly: takes, puts back and commits in queue order', () => {
    const pq = new ProcessQueue();
    pq.putMessage([1, 2, 3].map((o) => message(o)));
    assert.deepEqual(pq.takeMessages(2).map((m) => m.queueOffset), [1, 2]);
    pq.makeMessageToConsumeAgain([message(2, { reconsumeTimes: 1 })]);
    assert.equal(pq.commit(), 2, 'offset 1 done');
    const again = pq.takeMessages(5);
    assert.deepEqual(again.map((m) => [m.queueOffset, m.reconsumeTimes]), [[2, 1], [3, 0]]);
    assert.equal(pq.commit(), 4);
    assert.deepEqual(pq.takeMessages(1), []);
    assert.equal(pq.consuming, false);
    assert.equal(pq.msgCount, 0);
  });
});

describe('Mutex and ConsumeExecutor', () => {
  it('tryLock gives up after its timeout and gets the lock once released', async () => {
    const mutex = new Mutex();
    const release = await mutex.lock();
    assert.equal(await mutex.tryLock(20), null);
    const later = mutex.tryLock(1_000);
    release();
    const second = await later;
    assert.ok(second !== null);
    second();
    assert.equal(mutex.locked, false);
  });

  it('runs at most `max` tasks at once, in order', async () => {
    const executor = new ConsumeExecutor(3, () => undefined);
    let active = 0;
    let peak = 0;
    const order: number[] = [];
    const gates: Array<() => void> = [];
    for (let i = 0; i < 10; i++) {
      executor.submit(async () => {
        order.push(i);
        active++;
        peak = Math.max(peak, active);
        await new Promise<void>((resolve) => gates.push(resolve));
        active--;
      });
    }
    await settle(() => gates.length === 3, 'three started');
    assert.equal(executor.queuedCount, 7);
    for (let i = 0; i < 10; i++) {
      await settle(() => gates.length > 0, 'a task waits');
      gates.shift()!();
      await tick();
    }
    await settle(() => executor.activeCount === 0, 'all done');
    assert.equal(peak, 3);
    assert.deepEqual(order, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });
});

describe('ConsumeMessageConcurrentlyService', () => {
  it('calls the listener at most consumeThreadMax times at once and commits only past finished messages', async () => {
    const h = host({ consumeThreadMax: 4 });
    const gates = new Map<number, () => void>();
    let active = 0;
    let peak = 0;
    const service = new ConsumeMessageConcurrentlyService(h, async (messages) => {
      active++;
      peak = Math.max(peak, active);
      await new Promise<void>((resolve) => gates.set(messages[0]!.queueOffset, resolve));
      active--;
      return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
    });
    const pq = new ProcessQueue();
    const messages = Array.from({ length: 8 }, (_, i) => message(i));
    pq.putMessage(messages);
    service.submitConsumeRequest(messages, pq, mq, true);
    await settle(() => gates.size === 4, 'four calls');
    gates.get(3)!();
    gates.get(1)!();
    await settle(() => gates.size === 6, 'two more started');
    assert.equal(h.offsets.offsets.get(0), 0, 'offset 0 still in process');
    gates.get(0)!();
    await settle(() => h.offsets.offsets.get(0) === 2, 'committed up to 2');
    for (const offset of [2, 4, 5, 6, 7]) {
      await settle(() => gates.has(offset), `message ${offset} started`);
      gates.get(offset)!();
    }
    await settle(() => h.offsets.offsets.get(0) === 8, 'all committed');
    assert.equal(peak, 4);
  });

  it('sends failures back with the context\'s delay level; a failed send-back is consumed again after 5 s', async () => {
    const h = host();
    const calls: Array<[number, number]> = [];
    const service = new ConsumeMessageConcurrentlyService(h, (messages, context) => {
      calls.push([messages[0]!.queueOffset, messages[0]!.reconsumeTimes]);
      if (messages[0]!.queueOffset === 1) throw new Error('handler failed');
      if (messages[0]!.queueOffset === 2) {
        context.delayLevelWhenNextConsume = 5;
        return ConsumeConcurrentlyStatus.RECONSUME_LATER;
      }
      return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
    });
    const pq = new ProcessQueue();
    const messages = [0, 1, 2].map((o) => message(o));
    pq.putMessage(messages);
    service.submitConsumeRequest(messages, pq, mq, true);
    await settle(() => h.offsets.offsets.get(0) === 3, 'all three done');
    assert.deepEqual(h.sentBack, [{ msgId: 'ID1', delayLevel: 0, reconsumeTimes: 0 }, { msgId: 'ID2', delayLevel: 5, reconsumeTimes: 0 }]);

    h.failSendBack = true;
    const more = [message(3)];
    pq.putMessage(more);
    const failing = new ConsumeMessageConcurrentlyService(h, () => ConsumeConcurrentlyStatus.RECONSUME_LATER);
    failing.submitConsumeRequest(more, pq, mq, true);
    await settle(() => h.scheduled.length === 1, 'a local retry scheduled');
    assert.equal(h.scheduled[0]!.delayMs, 5_000);
    assert.equal(h.offsets.offsets.get(0), 3, 'the offset does not pass the message');
    assert.equal(pq.msgCount, 1, 'the message stays in the process queue');
    h.failSendBack = false;
    await h.scheduled.shift()!.task();
    await settle(() => h.offsets.offsets.get(0) === 4, 'consumed again and sent back');
    assert.deepEqual(h.sentBack.at(-1), { msgId: 'ID3', delayLevel: 0, reconsumeTimes: 1 });
  });
});

describe('ConsumeMessageOrderlyService', () => {
  it('retries a failing message locally, then sends it to the DLQ path past maxReconsumeTimes and moves on', async () => {
    const h = host({ maxReconsumeTimes: 2 });
    const seen: string[] = [];
    const service = new ConsumeMessageOrderlyService(h, (messages) => {
      const m = messages[0]!;
      seen.push(`${m.queueOffset}#${m.reconsumeTimes}`);
      return m.queueOffset === 1 ? 'SUSPEND_CURRENT_QUEUE_A_MOMENT' : 'SUCCESS';
    });
    const pq = new ProcessQueue();
    pq.locked = true;
    pq.lastLockTimestamp = Date.now();
    const messages = [0, 1, 2].map((o) => message(o));
    service.submitConsumeRequest(messages, pq, mq, pq.putMessage(messages));
    for (let round = 0; round < 2; round++) {
      await settle(() => h.scheduled.length === 1, `suspension ${round + 1}`);
      assert.equal(h.scheduled[0]!.delayMs, 100, 'suspendCurrentQueueTimeMillis');
      await h.scheduled.shift()!.task();
    }
    await settle(() => h.offsets.offsets.get(0) === 3, 'all committed');
    assert.deepEqual(seen, ['0#0', '1#0', '1#1', '1#2', '2#0']);
    assert.deepEqual(h.sentAsNew, [{ msgId: 'ID1', reconsumeTimes: 2 }]);
  });

  it('does not consume a queue whose lock expired', async () => {
    const h = host();
    let calls = 0;
    const service = new ConsumeMessageOrderlyService(h, () => {
      calls++;
      return 'SUCCESS';
    });
    const pq = new ProcessQueue();
    pq.locked = true;
    pq.lastLockTimestamp = Date.now() - 60_000;
    const messages = [message(0)];
    service.submitConsumeRequest(messages, pq, mq, pq.putMessage(messages));
    await settle(() => h.scheduled.length === 1, 'a lock retry scheduled');
    assert.equal(calls, 0);
  });
});

describe('subscriptions and options', () => {
  it('builds subscription data like FilterAPI.buildSubscriptionData', () => {
    const all = buildSubscriptionData('T', '*', 5);
    assert.deepEqual(all, { topic: 'T', subString: '*', classFilterMode: false, tagsSet: [], codeSet: [], subVersion: 5, expressionType: 'TAG' });
    assert.equal(buildSubscriptionData('T', '', 5).subString, '*');
    const tags = buildSubscriptionData('T', 'TagA || TagB ||  TagA', 5);
    assert.deepEqual(tags.tagsSet, ['TagA', 'TagB']);
    assert.deepEqual(tags.codeSet, [javaStringHashCode('TagA'), javaStringHashCode('TagB')]);
    assert.equal(tags.subString, 'TagA || TagB ||  TagA');
    assert.throws(() => buildSubscriptionData('T', ' || '), InvalidArgumentError);
  });

  it('builds the pull sysFlag (commitOffset | suspend | subscription)', () => {
    assert.equal(buildPullSysFlag(false, true, true, false), 6);
    assert.equal(buildPullSysFlag(true, true, true, false), 7);
  });

  it('parses consumeTimestamp as Java\'s yyyyMMddHHmmss (local time)', () => {
    assert.equal(parseConsumeTimestamp('20240131235959'), new Date(2024, 0, 31, 23, 59, 59).getTime());
    assert.equal(parseConsumeTimestamp(1234), 1234);
    assert.throws(() => parseConsumeTimestamp('20240231000000'), InvalidArgumentError);
    assert.throws(() => parseConsumeTimestamp('yesterday'), InvalidArgumentError);
  });

  it('resolves Java\'s defaults and checks ranges', () => {
    const resolved = resolvePushConsumerOptions({ consumerGroup: 'G' }, 1_000_000_000);
    assert.equal(resolved.messageModel, 'CLUSTERING');
    assert.equal(resolved.consumeFromWhere, 'CONSUME_FROM_LAST_OFFSET');
    assert.equal(resolved.consumeThreadMax, 20);
    assert.equal(resolved.consumeMessageBatchMaxSize, 1);
    assert.equal(resolved.pullBatchSize, 32);
    assert.equal(resolved.pullThresholdForQueue, 1000);
    assert.equal(resolved.pullThresholdSizeForQueue, 100);
    assert.equal(resolved.maxReconsumeTimes, -1);
    assert.equal(resolved.suspendCurrentQueueTimeMillis, 1000);
    assert.equal(resolved.consumeTimestampMs, 1_000_000_000 - 30 * 60_000);
    assert.throws(() => resolvePushConsumerOptions({ consumerGroup: 'DEFAULT_CONSUMER' }), InvalidArgumentError);
    assert.throws(() => resolvePushConsumerOptions({ consumerGroup: 'bad group' }), InvalidArgumentError);
    assert.throws(() => resolvePushConsumerOptions({ consumerGroup: 'G', pullBatchSize: 0 }), InvalidArgumentError);
    assert.throws(() => resolvePushConsumerOptions({ consumerGroup: 'G', messageModel: 'X' as 'CLUSTERING' }), InvalidArgumentError);
  });

  it('refuses to start without a listener and rejects bad subscriptions', async () => {
    const consumer = new PushConsumer({ consumerGroup: 'G', namesrvAddr: '127.0.0.1:1' });
    assert.throws(() => consumer.subscribe('bad topic!', '*'), InvalidArgumentError);
    await assert.rejects(consumer.start(), /registerMessageListener/);
    await consumer.shutdown();
  });
});
