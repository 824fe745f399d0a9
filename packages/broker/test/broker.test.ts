import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ConsumerListBody, type DecodedMessageRecord, GetConsumerListByGroupRequestHeader, GetMaxOffsetRequestHeader, GetMinOffsetRequestHeader,
  HeartbeatData, LockBatchRequestBody, LockBatchResponseBody, type MessageQueue, OffsetResponseHeader, PullMessageRequestHeader,
  PullMessageResponseHeader, QueryConsumerOffsetRequestHeader, QueryMessageRequestHeader, type RemotingCommand, RequestCode, ResponseCode,
  SendMessageResponseHeader, TopicConfigSerializeWrapper, UnlockBatchRequestBody, UnregisterClientRequestHeader, UpdateConsumerOffsetRequestHeader,
  ViewMessageRequestHeader, decodeCustomHeader, decodeMessageRecord, decodeOffsetMessageId, encodeCustomHeader,
  encodeSendMessageRequestHeader, javaStringHashCode, requestCommand,
} from '@tern/protocol';
import { RemotingClient } from '@tern/remoting';
import { Broker, type BrokerConfig, defaultBrokerConfig, encodeBatchBody } from '../src/index.js';

const NV = '\u0001';
const SEP = '\u0002';
const PullSysFlag = { COMMIT_OFFSET: 1, SUSPEND: 2, SUBSCRIPTION: 4 } as const;

function brokerConfig(dir: string): BrokerConfig {
  return {
    ...defaultBrokerConfig(),
    storePathRootDir: dir,
    listenPort: 0,
    namesrvAddr: '',
    // Bind loopback only, and keep files small so the test is fast.
    listenHost: '127.0.0.1',
    mappedFileSizeCommitLog: 1024 * 1024,
    mappedFileSizeConsumeQueue: 1_000 * 20,
    maxMessageSize: 64 * 1024,
    maxHashSlotNum: 1_000,
    maxIndexNum: 4_000,
    flushConsumerOffsetInterval: 60_000,
  };
}

function properties(pairs: Record<string, string>): string {
  return Object.entries(pairs).map(([name, value]) => name + NV + value).join(SEP);
}

interface SendOptions {
  queueId?: number;
  body?: string;
  properties?: Record<string, string>;
  reconsumeTimes?: number;
  maxReconsumeTimes?: number;
  defaultTopicQueueNums?: number;
}

function sendRequest(topic: string, options: SendOptions = {}): RemotingCommand {
  const header = encodeSendMessageRequestHeader(RequestCode.SEND_MESSAGE_V2, {
    producerGroup: 'PG', topic, defaultTopic: 'TBW102', defaultTopicQueueNums: options.defaultTopicQueueNums ?? 4,
    queueId: options.queueId ?? 0, sysFlag: 0, bornTimestamp: Date.now(), flag: 0,
    properties: properties(options.properties ?? { TAGS: 'TagA', WAIT: 'true' }),
    reconsumeTimes: options.reconsumeTimes ?? 0, maxReconsumeTimes: options.maxReconsumeTimes ?? null,
  });
  return requestCommand(RequestCode.SEND_MESSAGE_V2, header, Buffer.from(options.body ?? 'hello'));
}

interface PullOptions {
  queueId?: number;
  queueOffset?: number;
  subscription?: string;
  sysFlag?: number;
  suspendTimeoutMillis?: number;
  maxMsgNums?: number;
}

function pullRequest(group: string, topic: string, options: PullOptions = {}): RemotingCommand {
  return requestCommand(RequestCode.PULL_MESSAGE, encodeCustomHeader(PullMessageRequestHeader, {
    consumerGroup: group, topic, queueId: options.queueId ?? 0, queueOffset: options.queueOffset ?? 0,
    maxMsgNums: options.maxMsgNums ?? 32, sysFlag: options.sysFlag ?? PullSysFlag.SUBSCRIPTION, commitOffset: 0,
    suspendTimeoutMillis: options.suspendTimeoutMillis ?? 0, subscription: options.subscription ?? '*', subVersion: 0,
    expressionType: 'TAG',
  }));
}

function records(body: Buffer | null): DecodedMessageRecord[] {
  const out: DecodedMessageRecord[] = [];
  if (!body) return out;
  for (let at = 0; at < body.length;) {
    const record = decodeMessageRecord(body, at);
    out.push(record);
    at += record.totalSizeBytes;
  }
  return out;
}

function heartbeat(clientID: string, group: string, topics: string[]): RemotingCommand {
  return requestCommand(RequestCode.HEART_BEAT, {}, HeartbeatData.encode({
    clientID,
    producerDataSet: [],
    consumerDataSet: [{
      groupName: group, consumeType: 'CONSUME_PASSIVELY', messageModel: 'CLUSTERING', consumeFromWhere: 'CONSUME_FROM_LAST_OFFSET',
      subscriptionDataSet: topics.map((topic) => ({
        topic, subString: '*', classFilterMode: false, tagsSet: [], codeSet: [], subVersion: 1,
      })),
      unitMode: false,
    }],
  }));
}

function lockRequest(code: number, group: string, clientId: string, mqSet: MessageQueue[]): RemotingCommand {
  const body = code === RequestCode.LOCK_BATCH_MQ
    ? LockBatchRequestBody.encode({ consumerGroup: group, clientId, mqSet })
    : UnlockBatchRequestBody.encode({ consumerGroup: group, clientId, mqSet });
  return requestCommand(code, {}, body);
}

async function waitFor(condition: () => boolean, what: string, timeoutMs = 3_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`waitFor: ${what} did not happen in time`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('Broker in process', () => {
  let dir: string;
  let broker: Broker;
  let address: string;
  let listenPort: number;
  let client: RemotingClient;
  const notified: string[] = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tern-broker-'));
    broker = new Broker(brokerConfig(dir));
    const started = await broker.start();
    address = started.address;
    listenPort = started.listenPort;
    client = new RemotingClient();
    client.registerProcessor(RequestCode.NOTIFY_CONSUMER_IDS_CHANGED, (request) => {
      notified.push(request.extFields.consumerGroup ?? '');
      return null;
    });
  });

  after(async () => {
    await client?.close();
    await broker?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const invoke = (request: RemotingCommand, timeoutMs = 5_000): Promise<RemotingCommand> => client.invoke(address, request, timeoutMs);

  async function queryOffset(group: string, topic: string, queueId: number): Promise<RemotingCommand> {
    return invoke(requestCommand(RequestCode.QUERY_CONSUMER_OFFSET,
      encodeCustomHeader(QueryConsumerOffsetRequestHeader, { consumerGroup: group, topic, queueId })));
  }

  async function maxOffset(topic: string, queueId: number): Promise<number> {
    const response = await invoke(requestCommand(RequestCode.GET_MAX_OFFSET, encodeCustomHeader(GetMaxOffsetRequestHeader, { topic, queueId })));
    assert.equal(response.code, ResponseCode.SUCCESS);
    return decodeCustomHeader(OffsetResponseHeader, response.extFields).offset;
  }

  async function allTopics(): Promise<TopicConfigSerializeWrapper> {
    const response = await invoke(requestCommand(RequestCode.GET_ALL_TOPIC_CONFIG));
    assert.equal(response.code, ResponseCode.SUCCESS);
    return TopicConfigSerializeWrapper.decode(response.body);
  }

  async function consumerList(group: string): Promise<RemotingCommand> {
    return invoke(requestCommand(RequestCode.GET_CONSUMER_LIST_BY_GROUP, encodeCustomHeader(GetConsumerListByGroupRequestHeader, { consumerGroup: group })));
  }

  it('starts on a free port and reports brokerIP1:port', () => {
    assert.ok(listenPort > 0);
    assert.equal(address, `127.0.0.1:${listenPort}`);
    assert.equal(broker.brokerAddress, address);
  });

  let sentMsgId = '';

  it('SEND_MESSAGE_V2 to a new topic auto-creates it and answers SUCCESS with msgId, queueId, queueOffset, MSG_REGION, TRACE_ON', async () => {
    const response = await invoke(sendRequest('AutoTopic', {
      queueId: 1, body: 'first', properties: { TAGS: 'TagA', KEYS: 'order-1 order-2', WAIT: 'true' }, defaultTopicQueueNums: 4,
    }));
    assert.equal(response.code, ResponseCode.SUCCESS, response.remark ?? '');
    const header = decodeCustomHeader(SendMessageResponseHeader, response.extFields);
    assert.match(header.msgId, /^[0-9A-F]{32}$/);
    assert.equal(header.queueId, 1);
    assert.equal(header.queueOffset, 0);
    assert.equal(response.extFields.MSG_REGION, 'DefaultRegion');
    assert.equal(response.extFields.TRACE_ON, 'true');
    sentMsgId = header.msgId;

    const decoded = decodeOffsetMessageId(header.msgId);
    assert.deepEqual([...decoded.storeHost.ip], [127, 0, 0, 1]);
    assert.equal(decoded.storeHost.port, listenPort, 'the msgId carries the real listen port');

    const topic = (await allTopics()).topicConfigTable.AutoTopic;
    assert.ok(topic, 'AutoTopic was created');
    assert.equal(topic.writeQueueNums, 4, 'min(requested 4, TBW102 8)');
    assert.equal(topic.readQueueNums, 4);
    assert.equal(topic.perm, 6);

    const second = await invoke(sendRequest('AutoTopic', { queueId: 1, body: 'second' }));
    assert.equal(second.code, ResponseCode.SUCCESS);
    assert.equal(decodeCustomHeader(SendMessageResponseHeader, second.extFields).queueOffset, 1);
  });

  it('refuses a queueId beyond the topic\'s queues', async () => {
    const response = await invoke(sendRequest('AutoTopic', { queueId: 4 }));
    assert.equal(response.code, ResponseCode.SYSTEM_ERROR);
  });

  it('refuses sends to system topics', async () => {
    const response = await invoke(sendRequest('SCHEDULE_TOPIC_XXXX'));
    assert.equal(response.code, ResponseCode.NO_PERMISSION);
  });

  it('SEND_BATCH_MESSAGE stores every message with the batch properties (CLUSTER) appended, in one queue run', async () => {
    const body = encodeBatchBody(['b0', 'b1', 'b2'].map((text) => ({
      flag: 0, body: Buffer.from(text), properties: properties({ TAGS: 'TagA', KEYS: `batch-${text}` }),
    })));
    const header = encodeSendMessageRequestHeader(RequestCode.SEND_BATCH_MESSAGE, {
      producerGroup: 'PG', topic: 'BatchTopic', defaultTopic: 'TBW102', defaultTopicQueueNums: 2, queueId: 0, sysFlag: 0,
      bornTimestamp: Date.now(), flag: 0, properties: properties({ WAIT: 'true' }), batch: true,
    });
    const response = await invoke(requestCommand(RequestCode.SEND_BATCH_MESSAGE, header, body));
    assert.equal(response.code, ResponseCode.SUCCESS, response.remark ?? '');
    const sent = decodeCustomHeader(SendMessageResponseHeader, response.extFields);
    const ids = sent.msgId.split(',');
    assert.equal(ids.length, 3);
    assert.equal(sent.queueOffset, 0);
    const pulled = await invoke(pullRequest('BatchGroup', 'BatchTopic'));
    assert.equal(pulled.code, ResponseCode.SUCCESS);
    const got = records(pulled.body);
    assert.deepEqual(got.map((r) => Buffer.from(r.body).toString()), ['b0', 'b1', 'b2']);
    assert.deepEqual(got.map((r) => r.queueOffset), [0, 1, 2]);
    assert.deepEqual(got.map((r) => r.physicalOffset), ids.map((id) => decodeOffsetMessageId(id).physicalOffset));
    for (const record of got) {
      assert.equal(record.propertyMap.get('CLUSTER'), 'DefaultCluster');
      assert.equal(record.propertyMap.get('TAGS'), 'TagA');
      assert.equal(record.propertyMap.has('WAIT'), false);
    }
  });

  it('SEND_BATCH_MESSAGE with a malformed body is refused without storing anything', async () => {
    const header = encodeSendMessageRequestHeader(RequestCode.SEND_BATCH_MESSAGE, {
      producerGroup: 'PG', topic: 'BatchTopic', defaultTopic: 'TBW102', defaultTopicQueueNums: 2, queueId: 1, sysFlag: 0,
      bornTimestamp: Date.now(), flag: 0, batch: true,
    });
    const response = await invoke(requestCommand(RequestCode.SEND_BATCH_MESSAGE, header, Buffer.from([0, 0, 0, 99, 1, 2, 3])));
    assert.notEqual(response.code, ResponseCode.SUCCESS);
    assert.equal(await maxOffset('BatchTopic', 1), 0);
  });

  it('PULL_MESSAGE returns the stored message: FOUND, CLUSTER property added, WAIT removed', async () => {
    const response = await invoke(pullRequest('PullGroup', 'AutoTopic', { queueId: 1 }));
    assert.equal(response.code, ResponseCode.SUCCESS, response.remark ?? '');
    assert.equal(response.remark, 'FOUND');
    const header = decodeCustomHeader(PullMessageResponseHeader, response.extFields);
    assert.equal(header.nextBeginOffset, 2);
    assert.equal(header.minOffset, 0);
    assert.equal(header.maxOffset, 2);
    assert.equal(header.suggestWhichBrokerId, 0);
    const got = records(response.body);
    assert.equal(got.length, 2);
    const first = got[0]!;
    assert.equal(first.topic, 'AutoTopic');
    assert.equal(first.queueId, 1);
    assert.equal(first.queueOffset, 0);
    assert.equal(Buffer.from(first.body).toString(), 'first');
    assert.equal(first.propertyMap.get('CLUSTER'), 'DefaultCluster');
    assert.equal(first.propertyMap.get('TAGS'), 'TagA');
    assert.equal(first.propertyMap.get('KEYS'), 'order-1 order-2');
    assert.equal(first.propertyMap.has('WAIT'), false);
    assert.equal(decodeOffsetMessageId(sentMsgId).physicalOffset, first.physicalOffset);
    assert.equal(Buffer.from(got[1]!.body).toString(), 'second');
  });

  it('PULL_MESSAGE at the end of the queue answers PULL_NOT_FOUND with all four offsets', async () => {
    const response = await invoke(pullRequest('PullGroup', 'AutoTopic', { queueId: 1, queueOffset: 2 }));
    assert.equal(response.code, ResponseCode.PULL_NOT_FOUND);
    const header = decodeCustomHeader(PullMessageResponseHeader, response.extFields);
    assert.equal(header.nextBeginOffset, 2);
    assert.equal(header.maxOffset, 2);
  });

  it('PULL_MESSAGE on an unknown topic is TOPIC_NOT_EXIST', async () => {
    const response = await invoke(pullRequest('PullGroup', 'NoSuchTopic'));
    assert.equal(response.code, ResponseCode.TOPIC_NOT_EXIST);
  });

  it('PULL_MESSAGE without the SUBSCRIPTION flag from a group with no heartbeat is SUBSCRIPTION_NOT_EXIST', async () => {
    const response = await invoke(pullRequest('NoHeartbeatGroup', 'AutoTopic', { queueId: 1, sysFlag: 0 }));
    assert.equal(response.code, ResponseCode.SUBSCRIPTION_NOT_EXIST);
  });

  it('QUERY_CONSUMER_OFFSET before any commit answers 0 (min offset 0 rule); UPDATE then QUERY returns the commit', async () => {
    const before = await queryOffset('OffsetGroup', 'AutoTopic', 1);
    assert.equal(before.code, ResponseCode.SUCCESS);
    assert.equal(decodeCustomHeader(OffsetResponseHeader, before.extFields).offset, 0);

    const update = await invoke(requestCommand(RequestCode.UPDATE_CONSUMER_OFFSET, encodeCustomHeader(UpdateConsumerOffsetRequestHeader, {
      consumerGroup: 'OffsetGroup', topic: 'AutoTopic', queueId: 1, commitOffset: 2,
    })));
    assert.equal(update.code, ResponseCode.SUCCESS);
    const after = await queryOffset('OffsetGroup', 'AutoTopic', 1);
    assert.equal(after.code, ResponseCode.SUCCESS);
    assert.equal(decodeCustomHeader(OffsetResponseHeader, after.extFields).offset, 2);

    // ali-ons' commitOffset -1 ("unknown") leaves the commit alone.
    await invoke(requestCommand(RequestCode.UPDATE_CONSUMER_OFFSET, encodeCustomHeader(UpdateConsumerOffsetRequestHeader, {
      consumerGroup: 'OffsetGroup', topic: 'AutoTopic', queueId: 1, commitOffset: -1,
    })));
    assert.equal(decodeCustomHeader(OffsetResponseHeader, (await queryOffset('OffsetGroup', 'AutoTopic', 1)).extFields).offset, 2);
  });

  it('a pull with the COMMIT_OFFSET flag commits the offset', async () => {
    const request = requestCommand(RequestCode.PULL_MESSAGE, encodeCustomHeader(PullMessageRequestHeader, {
      consumerGroup: 'CommitGroup', topic: 'AutoTopic', queueId: 1, queueOffset: 1, maxMsgNums: 32,
      sysFlag: PullSysFlag.SUBSCRIPTION | PullSysFlag.COMMIT_OFFSET, commitOffset: 1, suspendTimeoutMillis: 0, subscription: '*', subVersion: 0,
    }));
    const response = await invoke(request);
    assert.equal(response.code, ResponseCode.SUCCESS);
    assert.equal(decodeCustomHeader(OffsetResponseHeader, (await queryOffset('CommitGroup', 'AutoTopic', 1)).extFields).offset, 1);
  });

  it('GET_MAX_OFFSET and GET_MIN_OFFSET', async () => {
    assert.equal(await maxOffset('AutoTopic', 1), 2);
    assert.equal(await maxOffset('AutoTopic', 0), 0);
    const min = await invoke(requestCommand(RequestCode.GET_MIN_OFFSET, encodeCustomHeader(GetMinOffsetRequestHeader, { topic: 'AutoTopic', queueId: 1 })));
    assert.equal(min.code, ResponseCode.SUCCESS);
    assert.equal(decodeCustomHeader(OffsetResponseHeader, min.extFields).offset, 0);
  });

  it('VIEW_MESSAGE_BY_ID with the physical offset decoded from msgId returns the record', async () => {
    const { physicalOffset } = decodeOffsetMessageId(sentMsgId);
    const response = await invoke(requestCommand(RequestCode.VIEW_MESSAGE_BY_ID, encodeCustomHeader(ViewMessageRequestHeader, { offset: physicalOffset })));
    assert.equal(response.code, ResponseCode.SUCCESS, response.remark ?? '');
    const [record] = records(response.body);
    assert.ok(record);
    assert.equal(record.physicalOffset, physicalOffset);
    assert.equal(record.topic, 'AutoTopic');
    assert.equal(Buffer.from(record.body).toString(), 'first');
  });

  it('VIEW_MESSAGE_BY_ID at an offset with no record is an error, not a crash', async () => {
    const response = await invoke(requestCommand(RequestCode.VIEW_MESSAGE_BY_ID, encodeCustomHeader(ViewMessageRequestHeader, { offset: 10_000_000 })));
    assert.equal(response.code, ResponseCode.SYSTEM_ERROR);
  });

  it('QUERY_MESSAGE finds the message by each KEYS word', async () => {
    for (const key of ['order-1', 'order-2']) {
      const response = await invoke(requestCommand(RequestCode.QUERY_MESSAGE, encodeCustomHeader(QueryMessageRequestHeader, {
        topic: 'AutoTopic', key, maxNum: 32, beginTimestamp: 0, endTimestamp: Number.MAX_SAFE_INTEGER,
      })));
      assert.equal(response.code, ResponseCode.SUCCESS, `${key}: ${response.remark ?? ''}`);
      const found = records(response.body);
      assert.equal(found.length, 1);
      assert.equal(Buffer.from(found[0]!.body).toString(), 'first');
    }
    const missing = await invoke(requestCommand(RequestCode.QUERY_MESSAGE, encodeCustomHeader(QueryMessageRequestHeader, {
      topic: 'AutoTopic', key: 'order-3', maxNum: 32, beginTimestamp: 0, endTimestamp: Number.MAX_SAFE_INTEGER,
    })));
    assert.equal(missing.code, ResponseCode.QUERY_NOT_FOUND);
  });

  it('HEART_BEAT with a consumer group creates %RETRY%group and registers the client', async () => {
    const response = await invoke(heartbeat('client-1', 'G1', ['AutoTopic']));
    assert.equal(response.code, ResponseCode.SUCCESS);
    const retry = (await allTopics()).topicConfigTable['%RETRY%G1'];
    assert.ok(retry, '%RETRY%G1 exists');
    assert.equal(retry.readQueueNums, 1);
    assert.equal(retry.writeQueueNums, 1);
    assert.equal(retry.perm, 6);

    const list = await consumerList('G1');
    assert.equal(list.code, ResponseCode.SUCCESS);
    assert.deepEqual(ConsumerListBody.decode(list.body).consumerIdList, ['client-1']);

    const none = await consumerList('NobodyGroup');
    assert.equal(none.code, ResponseCode.SYSTEM_ERROR);
  });

  it('a heartbeat subscription serves pulls without the SUBSCRIPTION flag', async () => {
    const response = await invoke(pullRequest('G1', 'AutoTopic', { queueId: 1, sysFlag: 0 }));
    assert.equal(response.code, ResponseCode.SUCCESS, response.remark ?? '');
    assert.equal(records(response.body).length, 2);
  });

  it('a second client joining notifies the first; its connection closing notifies again', async () => {
    await waitFor(() => notified.length >= 1, 'the notify for client-1 joining');
    const base = notified.length;
    const second = new RemotingClient();
    try {
      const response = await second.invoke(address, heartbeat('client-2', 'G1', ['AutoTopic']));
      assert.equal(response.code, ResponseCode.SUCCESS);
      await waitFor(() => notified.length >= base + 1, 'NOTIFY_CONSUMER_IDS_CHANGED after client-2 joined');
      assert.equal(notified.at(-1), 'G1');
      assert.deepEqual(ConsumerListBody.decode((await consumerList('G1')).body).consumerIdList, ['client-1', 'client-2']);

      // Same client again: no change, no notify.
      await second.invoke(address, heartbeat('client-2', 'G1', ['AutoTopic']));
      await new Promise((resolve) => setTimeout(resolve, 50));
      assert.equal(notified.length, base + 1);
    } finally {
      await second.close();
    }
    await waitFor(() => notified.length >= base + 2, 'NOTIFY_CONSUMER_IDS_CHANGED after client-2 left');
    assert.equal(notified.at(-1), 'G1');
    assert.deepEqual(ConsumerListBody.decode((await consumerList('G1')).body).consumerIdList, ['client-1']);
  });

  it('LOCK_BATCH_MQ / UNLOCK_BATCH_MQ', async () => {
    const mqs: MessageQueue[] = [
      { topic: 'AutoTopic', brokerName: 'broker-a', queueId: 0 }, { topic: 'AutoTopic', brokerName: 'broker-a', queueId: 1 },
    ];
    const locked = await invoke(lockRequest(RequestCode.LOCK_BATCH_MQ, 'G1', 'client-1', mqs));
    assert.equal(locked.code, ResponseCode.SUCCESS);
    assert.deepEqual(LockBatchResponseBody.decode(locked.body).lockOKMQSet, mqs);

    const refused = await invoke(lockRequest(RequestCode.LOCK_BATCH_MQ, 'G1', 'client-x', mqs));
    assert.equal(refused.code, ResponseCode.SUCCESS);
    assert.deepEqual(LockBatchResponseBody.decode(refused.body).lockOKMQSet, []);

    // Unlock by a non-holder changes nothing.
    assert.equal((await invoke(lockRequest(RequestCode.UNLOCK_BATCH_MQ, 'G1', 'client-x', mqs))).code, ResponseCode.SUCCESS);
    assert.deepEqual(LockBatchResponseBody.decode((await invoke(lockRequest(RequestCode.LOCK_BATCH_MQ, 'G1', 'client-x', mqs))).body).lockOKMQSet, []);

    const unlocked = await invoke(lockRequest(RequestCode.UNLOCK_BATCH_MQ, 'G1', 'client-1', [mqs[0]!]));
    assert.equal(unlocked.code, ResponseCode.SUCCESS);
    const taken = await invoke(lockRequest(RequestCode.LOCK_BATCH_MQ, 'G1', 'client-x', mqs));
    assert.deepEqual(LockBatchResponseBody.decode(taken.body).lockOKMQSet, [mqs[0]]);
  });

  it('LOCK_BATCH_MQ without a body is an error', async () => {
    const response = await invoke(requestCommand(RequestCode.LOCK_BATCH_MQ));
    assert.equal(response.code, ResponseCode.SYSTEM_ERROR);
  });

  it('pull with the SUBSCRIPTION flag filters by tag at the ConsumeQueue', async () => {
    for (const tag of ['TagB', 'TagA', 'TagB', 'TagA']) {
      const response = await invoke(sendRequest('FilterTopic', { queueId: 0, body: tag, properties: { TAGS: tag } }));
      assert.equal(response.code, ResponseCode.SUCCESS);
    }
    const onlyA = await invoke(pullRequest('FilterGroup', 'FilterTopic', { subscription: 'TagA' }));
    assert.equal(onlyA.code, ResponseCode.SUCCESS);
    const got = records(onlyA.body);
    assert.deepEqual(got.map((r) => r.queueOffset), [1, 3]);
    assert.ok(got.every((r) => r.propertyMap.get('TAGS') === 'TagA'));
    assert.equal(decodeCustomHeader(PullMessageResponseHeader, onlyA.extFields).nextBeginOffset, 4);

    const both = await invoke(pullRequest('FilterGroup', 'FilterTopic', { subscription: 'TagA || TagB' }));
    assert.equal(records(both.body).length, 4);

    const none = await invoke(pullRequest('FilterGroup', 'FilterTopic', { subscription: 'TagC' }));
    assert.equal(none.code, ResponseCode.PULL_RETRY_IMMEDIATELY);
    assert.equal(decodeCustomHeader(PullMessageResponseHeader, none.extFields).nextBeginOffset, 4);

    const sql = await invoke(requestCommand(RequestCode.PULL_MESSAGE, encodeCustomHeader(PullMessageRequestHeader, {
      consumerGroup: 'FilterGroup', topic: 'FilterTopic', queueId: 0, queueOffset: 0, maxMsgNums: 32, sysFlag: PullSysFlag.SUBSCRIPTION,
      commitOffset: 0, suspendTimeoutMillis: 0, subscription: 'a > 1', subVersion: 0, expressionType: 'SQL92',
    })));
    assert.equal(sql.code, ResponseCode.SYSTEM_ERROR);
    assert.equal(javaStringHashCode('TagA'), 2598919);
  });

  it('a suspended pull is answered as soon as a message arrives (long polling)', async () => {
    assert.equal((await invoke(sendRequest('LongPollTopic', { body: 'm0' }))).code, ResponseCode.SUCCESS);
    const startedAt = Date.now();
    const pending = invoke(pullRequest('LongPollGroup', 'LongPollTopic', {
      queueOffset: 1, sysFlag: PullSysFlag.SUBSCRIPTION | PullSysFlag.SUSPEND, suspendTimeoutMillis: 10_000,
    }), 15_000);
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal((await invoke(sendRequest('LongPollTopic', { body: 'm1' }))).code, ResponseCode.SUCCESS);
    const response = await pending;
    assert.equal(response.code, ResponseCode.SUCCESS);
    assert.deepEqual(records(response.body).map((r) => Buffer.from(r.body).toString()), ['m1']);
    assert.ok(Date.now() - startedAt < 5_000, 'woken by the arrival, not by the timeout');
  });

  it('a suspended pull with nothing arriving is answered PULL_NOT_FOUND at its timeout', async () => {
    const startedAt = Date.now();
    const response = await invoke(pullRequest('LongPollGroup', 'LongPollTopic', {
      queueOffset: 2, sysFlag: PullSysFlag.SUBSCRIPTION | PullSysFlag.SUSPEND, suspendTimeoutMillis: 100,
    }));
    assert.equal(response.code, ResponseCode.PULL_NOT_FOUND);
    assert.ok(Date.now() - startedAt >= 90);
    assert.equal(decodeCustomHeader(PullMessageResponseHeader, response.extFields).nextBeginOffset, 2);
  });

  it('a retry-topic send with reconsumeTimes ≥ maxReconsumeTimes goes to %DLQ%group', async () => {
    const stays = await invoke(sendRequest('%RETRY%G1', { body: 'retry-2', reconsumeTimes: 2, maxReconsumeTimes: 3 }));
    assert.equal(stays.code, ResponseCode.SUCCESS);
    assert.equal(await maxOffset('%RETRY%G1', 0), 1);

    const dead = await invoke(sendRequest('%RETRY%G1', { body: 'retry-3', reconsumeTimes: 3, maxReconsumeTimes: 3 }));
    assert.equal(dead.code, ResponseCode.SUCCESS);
    assert.equal(decodeCustomHeader(SendMessageResponseHeader, dead.extFields).queueId, 0);
    assert.equal(await maxOffset('%RETRY%G1', 0), 1, 'not stored in the retry topic');
    assert.equal(await maxOffset('%DLQ%G1', 0), 1);
    const dlq = (await allTopics()).topicConfigTable['%DLQ%G1'];
    assert.ok(dlq, '%DLQ%G1 exists');
    assert.equal(dlq.writeQueueNums, 1);

    // Without maxReconsumeTimes the group's retryMaxTimes (16) applies.
    const sixteen = await invoke(sendRequest('%RETRY%G1', { body: 'retry-16', reconsumeTimes: 16 }));
    assert.equal(sixteen.code, ResponseCode.SUCCESS);
    const fifteen = await invoke(sendRequest('%RETRY%G1', { body: 'retry-15', reconsumeTimes: 15 }));
    assert.equal(fifteen.code, ResponseCode.SUCCESS);
    assert.equal(await maxOffset('%DLQ%G1', 0), 2);
    assert.equal(await maxOffset('%RETRY%G1', 0), 2);

    const pulled = await invoke(pullRequest('DlqReader', '%DLQ%G1'));
    assert.equal(pulled.code, ResponseCode.SUCCESS);
    const got = records(pulled.body);
    assert.deepEqual(got.map((r) => Buffer.from(r.body).toString()), ['retry-3', 'retry-16']);
    assert.ok(got.every((r) => r.topic === '%DLQ%G1'));
    assert.deepEqual(got.map((r) => r.reconsumeTimes), [3, 16]);
  });
  it('UNREGISTER_CLIENT removes the consumer from its group', async () => {
    const response = await invoke(requestCommand(RequestCode.UNREGISTER_CLIENT, encodeCustomHeader(UnregisterClientRequestHeader, {
      clientID: 'client-1', consumerGroup: 'G1',
    })));
    assert.equal(response.code, ResponseCode.SUCCESS);
    assert.equal((await consumerList('G1')).code, ResponseCode.SYSTEM_ERROR);
  });
});

describe('Broker from an unfinished defaultBrokerConfig()', () => {
  let dir: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tern-broker-defaults-'));
  });

  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  function canConnect(host: string, port: number): Promise<boolean> {
    return new Promise((resolve) => {
      const socket = connect({ host, port });
      const timer = setTimeout(() => {
        socket.destroy();
        resolve(false);
      }, 1_000);
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => {
        clearTimeout(timer);
        resolve(false);
      });
    });
  }

  it('serves on brokerIP1 (127.0.0.1)', async () => {
    const broker = new Broker({ ...defaultBrokerConfig(), storePathRootDir: dir, listenPort: 0, namesrvAddr: '' });
    const { listenPort } = await broker.start();
    try {
      assert.equal(await canConnect('127.0.0.1', listenPort), true);
    } finally {
      await broker.stop();
    }
  });

  it('binds brokerIP1 only (listenHost defaults to brokerIP1), not every interface', async () => {
    const broker = new Broker({ ...defaultBrokerConfig(), storePathRootDir: dir, listenPort: 0, namesrvAddr: '' });
    const { listenPort } = await broker.start();
    try {
      // 127.0.0.2 is a loopback address on Linux too, but not brokerIP1: a socket bound to 127.0.0.1 refuses it.
      assert.equal(await canConnect('127.0.0.2', listenPort), false);
    } finally {
      await broker.stop();
    }
  });
});

describe('Broker restart', () => {
  let dir: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tern-broker-restart-'));
  });

  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('stop() then start() on the same directory keeps messages, topics, offsets and groups', async () => {
    const first = new Broker(brokerConfig(dir));
    const { address } = await first.start();
    const client = new RemotingClient();
    let msgId = '';
    try {
      for (const body of ['a', 'b', 'c']) {
        const response = await client.invoke(address, sendRequest('KeepTopic', { queueId: 2, body, properties: { TAGS: 'T', KEYS: `key-${body}` } }));
        assert.equal(response.code, ResponseCode.SUCCESS);
        msgId = decodeCustomHeader(SendMessageResponseHeader, response.extFields).msgId;
      }
      const update = await client.invoke(address, requestCommand(RequestCode.UPDATE_CONSUMER_OFFSET, encodeCustomHeader(UpdateConsumerOffsetRequestHeader, {
        consumerGroup: 'KeepGroup', topic: 'KeepTopic', queueId: 2, commitOffset: 2,
      })));
      assert.equal(update.code, ResponseCode.SUCCESS);
      assert.equal((await client.invoke(address, heartbeat('keeper', 'KeepGroup', ['KeepTopic']))).code, ResponseCode.SUCCESS);
    } finally {
      await client.close();
    }
    await first.stop();
    // A second stop is harmless.
    await first.stop();

    const offsetsFile = JSON.parse(await readFile(join(dir, 'config', 'consumerOffset.json'), 'utf8'));
    assert.deepEqual(offsetsFile.offsetTable['KeepTopic@KeepGroup'], { 2: 2 });
    const topicsFile = JSON.parse(await readFile(join(dir, 'config', 'topics.json'), 'utf8'));
    assert.ok(topicsFile.topicConfigTable.KeepTopic);
    assert.ok(topicsFile.topicConfigTable['%RETRY%KeepGroup']);

    const second = new Broker(brokerConfig(dir));
    const restarted = await second.start();
    const again = new RemotingClient();
    try {
      const invoke = (request: RemotingCommand): Promise<RemotingCommand> => again.invoke(restarted.address, request);
      const pulled = await invoke(pullRequest('OtherGroup', 'KeepTopic', { queueId: 2 }));
      assert.equal(pulled.code, ResponseCode.SUCCESS, pulled.remark ?? '');
      assert.deepEqual(records(pulled.body).map((r) => Buffer.from(r.body).toString()), ['a', 'b', 'c']);

      const offset = await invoke(requestCommand(RequestCode.QUERY_CONSUMER_OFFSET,
        encodeCustomHeader(QueryConsumerOffsetRequestHeader, { consumerGroup: 'KeepGroup', topic: 'KeepTopic', queueId: 2 })));
      assert.equal(offset.code, ResponseCode.SUCCESS);
      assert.equal(decodeCustomHeader(OffsetResponseHeader, offset.extFields).offset, 2);

      const max = await invoke(requestCommand(RequestCode.GET_MAX_OFFSET, encodeCustomHeader(GetMaxOffsetRequestHeader, { topic: 'KeepTopic', queueId: 2 })));
      assert.equal(decodeCustomHeader(OffsetResponseHeader, max.extFields).offset, 3);

      const topics = TopicConfigSerializeWrapper.decode((await invoke(requestCommand(RequestCode.GET_ALL_TOPIC_CONFIG))).body);
      assert.ok(topics.topicConfigTable.KeepTopic);
      assert.ok(topics.topicConfigTable['%RETRY%KeepGroup']);

      // The message stored before the restart is still found by its physical offset and by key.
      const view = await invoke(requestCommand(RequestCode.VIEW_MESSAGE_BY_ID,
        encodeCustomHeader(ViewMessageRequestHeader, { offset: decodeOffsetMessageId(msgId).physicalOffset })));
      assert.equal(view.code, ResponseCode.SUCCESS);
      assert.equal(Buffer.from(records(view.body)[0]!.body).toString(), 'c');
      const byKey = await invoke(requestCommand(RequestCode.QUERY_MESSAGE, encodeCustomHeader(QueryMessageRequestHeader, {
        topic: 'KeepTopic', key: 'key-b', maxNum: 32, beginTimestamp: 0, endTimestamp: Number.MAX_SAFE_INTEGER,
      })));
      assert.equal(byKey.code, ResponseCode.SUCCESS);
      assert.equal(Buffer.from(records(byKey.body)[0]!.body).toString(), 'b');

      // New sends continue the queue.
      const next = await invoke(sendRequest('KeepTopic', { queueId: 2, body: 'd' }));
      assert.equal(decodeCustomHeader(SendMessageResponseHeader, next.extFields).queueOffset, 3);
    } finally {
      await again.close();
      await second.stop();
    }
  });

  it('a stopped Broker object cannot be started again (a new one is needed)', async () => {
    const broker = new Broker(brokerConfig(dir));
    await broker.start();
    await broker.stop();
    await assert.rejects(broker.start(), /state stopped/);
  });
});
