import { afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NodeFileSystem } from '@tern/store';
import {
  AUTO_CREATE_TOPIC_KEY_TOPIC, OFFSET_MOVED_EVENT, SELF_TEST_TOPIC, TopicConfigManager, topicConfig,
} from '../src/topic/topic-config-manager.js';
import { Perm } from '../src/topic/perm.js';

interface Options {
  autoCreateTopicEnable?: boolean;
  defaultTopicQueueNums?: number;
}

describe('TopicConfigManager', () => {
  let dir: string;
  let configDir: string;
  let now: number;
  let changes: number;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tern-topics-'));
    configDir = join(dir, 'config');
    now = 1_700_000_000_000;
    changes = 0;
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function manager(options: Options = {}): Promise<TopicConfigManager> {
    const topics = new TopicConfigManager(new NodeFileSystem(), configDir, {
      clusterName: 'TestCluster',
      brokerName: 'broker-t',
      autoCreateTopicEnable: options.autoCreateTopicEnable ?? true,
      defaultTopicQueueNums: options.defaultTopicQueueNums ?? 8,
      nowMs: () => now,
      onChange: () => {
        changes++;
      },
    });
    await topics.load();
    return topics;
  }

  async function topicsFile(): Promise<{ dataVersion: { timestamp: number; counter: number }; topicConfigTable: Record<string, unknown> }> {
    return JSON.parse(await readFile(join(configDir, 'topics.json'), 'utf8'));
  }

  it('creates the built-in topics on first load; TBW102 is inheritable when auto-create is on', async () => {
    const topics = await manager();
    const tbw = topics.get(AUTO_CREATE_TOPIC_KEY_TOPIC);
    assert.deepEqual(tbw, topicConfig(AUTO_CREATE_TOPIC_KEY_TOPIC, 8, Perm.READ | Perm.WRITE | Perm.INHERIT));
    assert.equal(topics.get(SELF_TEST_TOPIC)?.writeQueueNums, 1);
    assert.equal(topics.get(OFFSET_MOVED_EVENT)?.writeQueueNums, 1);
    assert.ok(topics.get('TestCluster'), 'the cluster-name topic exists');
    assert.equal(topics.get('TestCluster')!.perm & Perm.INHERIT, Perm.INHERIT);
    assert.equal(topics.get('broker-t')?.perm, Perm.READ | Perm.WRITE | Perm.INHERIT);
    assert.equal(topics.get('broker-t')?.writeQueueNums, 1);
    assert.deepEqual(topics.all().map((t) => t.topicName).sort(),
      [OFFSET_MOVED_EVENT, SELF_TEST_TOPIC, AUTO_CREATE_TOPIC_KEY_TOPIC, 'TestCluster', 'broker-t'].sort());
    // Loading alone is not a change.
    assert.equal(changes, 0);
  });

  it('TBW102 uses defaultTopicQueueNums for its queue counts', async () => {
    const topics = await manager({ defaultTopicQueueNums: 3 });
    assert.equal(topics.get(AUTO_CREATE_TOPIC_KEY_TOPIC)?.readQueueNums, 3);
    assert.equal(topics.get(AUTO_CREATE_TOPIC_KEY_TOPIC)?.writeQueueNums, 3);
  });

  it('TBW102 is not inheritable when auto-create is off', async () => {
    const topics = await manager({ autoCreateTopicEnable: false });
    const tbw = topics.get(AUTO_CREATE_TOPIC_KEY_TOPIC)!;
    assert.equal(tbw.perm & Perm.INHERIT, 0);
  });

  it('a reload with auto-create turned off takes the inherit bit off a persisted TBW102', async () => {
    await manager({ autoCreateTopicEnable: true });
    const reloaded = await manager({ autoCreateTopicEnable: false });
    assert.equal(reloaded.get(AUTO_CREATE_TOPIC_KEY_TOPIC)!.perm & Perm.INHERIT, 0);
    assert.equal(await reloaded.autoCreate('NewTopic', AUTO_CREATE_TOPIC_KEY_TOPIC, 4, 0), null);
    // ... and turned on again puts it back.
    const again = await manager({ autoCreateTopicEnable: true });
    assert.equal(again.get(AUTO_CREATE_TOPIC_KEY_TOPIC)!.perm & Perm.INHERIT, Perm.INHERIT);
  });

  it('autoCreate copies TBW102 with min(requested, default) queues and without the inherit bit', async () => {
    const topics = await manager();
    const fewer = await topics.autoCreate('Fewer', AUTO_CREATE_TOPIC_KEY_TOPIC, 4, 0);
    assert.deepEqual(fewer, topicConfig('Fewer', 4, Perm.READ | Perm.WRITE));
    const more = await topics.autoCreate('More', AUTO_CREATE_TOPIC_KEY_TOPIC, 64, 0);
    assert.equal(more?.readQueueNums, 8);
    assert.equal(more?.writeQueueNums, 8);
    assert.equal(more!.perm & Perm.INHERIT, 0);
    assert.equal(topics.get('Fewer')?.writeQueueNums, 4);
    assert.equal(changes, 2);
  });

  it('autoCreate keeps the requested topicSysFlag', async () => {
    const topics = await manager();
    const created = await topics.autoCreate('Flagged', AUTO_CREATE_TOPIC_KEY_TOPIC, 2, 1);
    assert.equal(created?.topicSysFlag, 1);
  });

  it('autoCreate of an existing topic returns it unchanged, no version bump', async () => {
    const topics = await manager();
    const first = await topics.autoCreate('Existing', AUTO_CREATE_TOPIC_KEY_TOPIC, 2, 0);
    const version = topics.version();
    const second = await topics.autoCreate('Existing', AUTO_CREATE_TOPIC_KEY_TOPIC, 8, 0);
    assert.deepEqual(second, first);
    assert.deepEqual(topics.version(), version);
    assert.equal(changes, 1);
  });

  it('autoCreate is refused when auto-create is disabled', async () => {
    const topics = await manager({ autoCreateTopicEnable: false });
    assert.equal(await topics.autoCreate('Nope', AUTO_CREATE_TOPIC_KEY_TOPIC, 4, 0), null);
    assert.equal(topics.get('Nope'), undefined);
    assert.equal(changes, 0);
  });

  it('autoCreate refuses a template topic without the inherit bit', async () => {
    const topics = await manager();
    await topics.createOrUpdate(topicConfig('Plain', 4));
    assert.equal(await topics.autoCreate('FromPlain', 'Plain', 4, 0), null);
    assert.equal(topics.get('FromPlain'), undefined);
  });

  it('persists to config/topics.json in RocketMQ\'s shape and reloads', async () => {
    const topics = await manager();
    now += 1_000;
    await topics.createOrUpdate({
      topicName: 'Orders', readQueueNums: 4, writeQueueNums: 2, perm: Perm.READ, topicFilterType: 'MULTI_TAG', topicSysFlag: 0, order: true,
    });
    const file = await topicsFile();
    assert.deepEqual(Object.keys(file).sort(), ['dataVersion', 'topicConfigTable']);
    assert.equal(typeof file.dataVersion.timestamp, 'number');
    assert.equal(typeof file.dataVersion.counter, 'number');
    assert.deepEqual(file.topicConfigTable.Orders, {
      topicName: 'Orders', readQueueNums: 4, writeQueueNums: 2, perm: Perm.READ, topicFilterType: 'MULTI_TAG', topicSysFlag: 0, order: true,
    });
    assert.ok(file.topicConfigTable[AUTO_CREATE_TOPIC_KEY_TOPIC], 'built-ins are persisted too');

    const reloaded = await manager();
    assert.deepEqual(reloaded.get('Orders'), topics.get('Orders'));
    assert.deepEqual(reloaded.version(), topics.version());
    assert.deepEqual(reloaded.all().map((t) => t.topicName).sort(), topics.all().map((t) => t.topicName).sort());
  });

  it('fills missing fields of a hand-written topics.json entry with defaults', async () => {
    await mkdir(configDir, { recursive: true });
    await writeFile(join(configDir, 'topics.json'), JSON.stringify({
      dataVersion: { timestamp: 5, counter: 7 },
      topicConfigTable: { Hand: { topicName: 'Hand', readQueueNums: 2, writeQueueNums: 2 } },
    }));
    const topics = await manager();
    const hand = topics.get('Hand')!;
    assert.equal(hand.readQueueNums, 2);
    assert.equal(hand.perm, Perm.READ | Perm.WRITE);
    assert.equal(hand.topicFilterType, 'SINGLE_TAG');
    assert.equal(hand.order, false);
    assert.equal(topics.version().counter, 7);
  });

  it('a corrupt topics.json is an error naming the file, not a silent reset', async () => {
    await mkdir(configDir, { recursive: true });
    await writeFile(join(configDir, 'topics.json'), '{"dataVersion":');
    await assert.rejects(manager(), /topics\.json/);
  });

  it('every change bumps the data version counter and timestamp', async () => {
    const topics = await manager();
    const v0 = topics.version();
    now += 10;
    await topics.createOrUpdate(topicConfig('A', 1));
    const v1 = topics.version();
    assert.equal(v1.counter, v0.counter + 1);
    assert.equal(v1.timestamp, now);
    now += 10;
    await topics.createOrUpdate(topicConfig('A', 2));
    const v2 = topics.version();
    assert.equal(v2.counter, v1.counter + 1);
    now += 10;
    await topics.delete('A');
    assert.equal(topics.version().counter, v2.counter + 1);
    assert.equal(changes, 3);
    // version() is a copy.
    const copy = topics.version();
    copy.counter = 999;
    assert.notEqual(topics.version().counter, 999);
  });

  it('the counter keeps growing across reloads', async () => {
    const topics = await manager();
    await topics.createOrUpdate(topicConfig('A', 1));
    await topics.createOrUpdate(topicConfig('B', 1));
    const before = topics.version().counter;
    const reloaded = await manager();
    await reloaded.createOrUpdate(topicConfig('C', 1));
    assert.equal(reloaded.version().counter, before + 1);
    assert.equal((await topicsFile()).dataVersion.counter, before + 1);
  });

  it('ensure creates a missing topic once and returns an existing one as is', async () => {
    const topics = await manager();
    const retry = await topics.ensure('%RETRY%G', 1);
    assert.deepEqual(retry, topicConfig('%RETRY%G', 1));
    assert.equal(changes, 1);
    await topics.createOrUpdate(topicConfig('%RETRY%G', 3));
    const again = await topics.ensure('%RETRY%G', 1);
    assert.equal(again.writeQueueNums, 3);
    assert.equal(changes, 2);
  });

  it('delete removes the topic (also from the file) and reports whether it existed', async () => {
    const topics = await manager();
    await topics.createOrUpdate(topicConfig('Gone', 2));
    assert.equal(await topics.delete('Gone'), true);
    assert.equal(topics.get('Gone'), undefined);
    assert.equal((await topicsFile()).topicConfigTable.Gone, undefined);
    const version = topics.version();
    assert.equal(await topics.delete('Gone'), false);
    assert.deepEqual(topics.version(), version, 'deleting a missing topic is not a change');
    const reloaded = await manager();
    assert.equal(reloaded.get('Gone'), undefined);
  });
});
