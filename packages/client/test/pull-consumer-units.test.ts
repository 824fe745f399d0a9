import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PullMessageRequestHeader, RequestCode, ResponseCode, decodeCustomHeader, javaStringHashCode, responseCommand, requestCommand } from '@tern/protocol';
import { InvalidArgumentError, MQBrokerError, type MessageExt } from '../src/index.js';
import { ConsumeRequestBuffer, type ConsumeRequest, Trigger, unlessFired, waitFor } from '../src/consumer/pull-consumer-buffer.js';
import {
  PullSysFlag, buildSubscriptionData, matchesSubscription, pullRequest, readPullResponse,
} from '../src/consumer/pull-consumer-api.js';

/* The pull consumer's pieces that need no server: subscriptions, request encoding, the buffer, the wait helpers. */

function message(tags: string | undefined): MessageExt {
  return { tags } as MessageExt;
}

function request(key: string, count: number, generation = 0): ConsumeRequest {
  return {
    key, mq: { topic: 'T', brokerName: 'b', queueId: Number(key) }, messages: Array.from({ length: count }, () => message('x')),
    nextOffset: count, generation, bytes: count,
  };
}

describe('pull consumer subscriptions and requests', () => {
  it('builds tag subscriptions like FilterAPI and checks tags on the client', () => {
    const all = buildSubscriptionData('T', '*', 7);
    assert.deepEqual({ ...all }, { topic: 'T', subString: '*', classFilterMode: false, tagsSet: [], codeSet: [], subVersion: 7, expressionType: 'TAG' });
    assert.equal(buildSubscriptionData('T', '').subString, '*');
    const tags = buildSubscriptionData('T', ' TagA || TagB ||TagA ');
    assert.deepEqual(tags.tagsSet, ['TagA', 'TagB']);
    assert.deepEqual(tags.codeSet, [javaStringHashCode('TagA'), javaStringHashCode('TagB')]);
    assert.ok(matchesSubscription(tags, message('TagB')));
    assert.ok(!matchesSubscription(tags, message('TagC')));
    assert.ok(!matchesSubscription(tags, message(undefined)));
    assert.ok(matchesSubscription(all, message(undefined)));
    const sql = buildSubscriptionData('T', { type: 'SQL92', expression: 'a > 5' });
    assert.equal(sql.expressionType, 'SQL92');
    assert.ok(matchesSubscription(sql, message('anything')));
    assert.throws(() => buildSubscriptionData('T', '||'), InvalidArgumentError);
    assert.throws(() => buildSubscriptionData('T', { type: 'SQL92', expression: ' ' }), InvalidArgumentError);
  });

  it('encodes PULL_MESSAGE with the subscription and the suspend flag', () => {
    const subscription = buildSubscriptionData('T', 'TagA', 42);
    const held = pullRequest({ consumerGroup: 'G', mq: { topic: 'T', brokerName: 'b', queueId: 3 }, subscription, queueOffset: 17, maxMsgNums: 32,
      suspendTimeoutMs: 20_000 });
    assert.equal(held.code, RequestCode.PULL_MESSAGE);
    const header = decodeCustomHeader(PullMessageRequestHeader, held.extFields);
    assert.equal(header.sysFlag, PullSysFlag.SUBSCRIPTION | PullSysFlag.SUSPEND);
    assert.deepEqual([header.queueId, header.queueOffset, header.maxMsgNums, header.subscription, header.subVersion, header.commitOffset],
      [3, 17, 32, 'TagA', 42, 0]);
    const immediate = pullRequest({ consumerGroup: 'G', mq: { topic: 'T', brokerName: 'b', queueId: 0 }, subscription, queueOffset: 0, maxMsgNums: 1,
      suspendTimeoutMs: 0, commitOffset: 5 });
    assert.equal(decodeCustomHeader(PullMessageRequestHeader, immediate.extFields).sysFlag, PullSysFlag.SUBSCRIPTION | PullSysFlag.COMMIT_OFFSET);
  });

  it('reads pull answers: statuses by code, broker errors', () => {
    const req = requestCommand(RequestCode.PULL_MESSAGE);
    const fields = { suggestWhichBrokerId: '0', nextBeginOffset: '9', minOffset: '0', maxOffset: '9' };
    const moved = readPullResponse(responseCommand(req, ResponseCode.PULL_OFFSET_MOVED, null, fields), 'b:1', {});
    assert.equal(moved.status, 'OFFSET_ILLEGAL');
    assert.equal(moved.nextBeginOffset, 9);
    assert.equal(readPullResponse(responseCommand(req, ResponseCode.PULL_NOT_FOUND, null, fields), 'b:1', {}).status, 'NO_NEW_MSG');
    assert.equal(readPullResponse(responseCommand(req, ResponseCode.PULL_RETRY_IMMEDIATELY, null, fields), 'b:1', {}).status, 'NO_MATCHED_MSG');
    assert.throws(() => readPullResponse(responseCommand(req, ResponseCode.SUBSCRIPTION_NOT_EXIST, 'no'), 'b:1', {}), MQBrokerError);
  });
});

describe('pull consumer buffer and waits', () => {
  it('hands out requests in order, skipping held queues and dropping stale ones', () => {
    const buffer = new ConsumeRequestBuffer();
    buffer.push(request('0', 2));
    buffer.push(request('1', 3));
    buffer.push(request('0', 1, 1));
    assert.equal(buffer.messageCount, 6);
    const dropped: ConsumeRequest[] = [];
    const first = buffer.take((r) => r.generation === 0 && r.key === '0', (r) => r.key === '1', (r) => dropped.push(r));
    assert.equal(first?.key, '0');
    assert.equal(first?.generation, 1);
    assert.equal(dropped.length, 1);
    assert.equal(buffer.take(() => false, (r) => r.key === '1', () => undefined), null, 'only a held queue left');
    assert.equal(buffer.removeQueue('1').length, 1);
    assert.equal(buffer.size, 0);
    assert.equal(buffer.messageCount, 0);
  });

  it('waits end on a trigger or a timeout and leave no listener behind', async () => {
    const trigger = new Trigger();
    for (let i = 0; i < 50; i++) await waitFor(1, [trigger]);
    assert.equal(trigger.waiting, 0, 'timed-out waits unregistered');
    const waiting = waitFor(10_000, [trigger]);
    assert.equal(trigger.waiting, 1);
    trigger.fire();
    await waiting;
    assert.equal(trigger.waiting, 0);

    for (let i = 0; i < 50; i++) assert.equal(await unlessFired(Promise.resolve(i), trigger), i);
    assert.equal(trigger.waiting, 0, 'settled tasks unregistered');
    const never = new Promise<number>(() => undefined);
    const cut = unlessFired(never, trigger);
    trigger.fire();
    assert.equal(await cut, null);
    await assert.rejects(unlessFired(Promise.reject(new Error('boom')), trigger), /boom/);
    assert.equal(trigger.waiting, 0);
  });
});
