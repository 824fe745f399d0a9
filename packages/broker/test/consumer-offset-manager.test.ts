import { afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NodeFileSystem } from '@tern/store';
import { ConsumerOffsetManager } from '../src/offset/consumer-offset-manager.js';

describe('ConsumerOffsetManager', () => {
  let dir: string;
  let configDir: string;
  let file: string;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tern-offsets-'));
    configDir = join(dir, 'config');
    file = join(configDir, 'consumerOffset.json');
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function manager(): Promise<ConsumerOffsetManager> {
    const offsets = new ConsumerOffsetManager(new NodeFileSystem(), configDir);
    await offsets.load();
    return offsets;
  }

  it('returns -1 when nothing was committed', async () => {
    const offsets = await manager();
    assert.equal(offsets.query('G', 'T', 0), -1);
  });

  it('commit then query, per group, topic and queue', async () => {
    const offsets = await manager();
    offsets.commit('G', 'T', 0, 5);
    offsets.commit('G', 'T', 1, 7);
    offsets.commit('H', 'T', 0, 9);
    offsets.commit('G', 'U', 0, 11);
    assert.equal(offsets.query('G', 'T', 0), 5);
    assert.equal(offsets.query('G', 'T', 1), 7);
    assert.equal(offsets.query('H', 'T', 0), 9);
    assert.equal(offsets.query('G', 'U', 0), 11);
    assert.equal(offsets.query('H', 'T', 1), -1);
    assert.equal(offsets.query('G', 'T', 2), -1);
    offsets.commit('G', 'T', 0, 6);
    assert.equal(offsets.query('G', 'T', 0), 6);
    // A commit may move backwards (reset offset).
    offsets.commit('G', 'T', 0, 0);
    assert.equal(offsets.query('G', 'T', 0), 0);
  });

  it('ignores negative and non-integer commits (ali-ons sends -1 for "unknown")', async () => {
    const offsets = await manager();
    offsets.commit('G', 'T', 0, -1);
    assert.equal(offsets.query('G', 'T', 0), -1);
    offsets.commit('G', 'T', 0, 4);
    offsets.commit('G', 'T', 0, -1);
    offsets.commit('G', 'T', 0, Number.NaN);
    offsets.commit('G', 'T', 0, 1.5);
    assert.equal(offsets.query('G', 'T', 0), 4);
  });

  it('groupsOfTopic lists the groups with commits on a topic', async () => {
    const offsets = await manager();
    offsets.commit('G', 'T', 0, 1);
    offsets.commit('H', 'T', 3, 1);
    offsets.commit('I', 'U', 0, 1);
    assert.deepEqual(offsets.groupsOfTopic('T').sort(), ['G', 'H']);
    assert.deepEqual(offsets.groupsOfTopic('none'), []);
  });

  it('persists as {"offsetTable":{"topic@group":{"queueId":offset}}} and reloads', async () => {
    const offsets = await manager();
    offsets.commit('G', 'T', 1, 12);
    offsets.commit('G', 'T', 0, 3);
    offsets.commit('H', '%RETRY%H', 0, 2);
    await offsets.persist();
    const json = JSON.parse(await readFile(file, 'utf8'));
    assert.deepEqual(json, { offsetTable: { 'T@G': { 0: 3, 1: 12 }, '%RETRY%H@H': { 0: 2 } } });
    assert.deepEqual(Object.keys(json.offsetTable['T@G']), ['0', '1'], 'queue ids in order');

    const reloaded = await manager();
    assert.equal(reloaded.query('G', 'T', 0), 3);
    assert.equal(reloaded.query('G', 'T', 1), 12);
    assert.equal(reloaded.query('H', '%RETRY%H', 0), 2);
    assert.equal(reloaded.query('H', 'T', 0), -1);
  });

  it('reads a RocketMQ consumerOffset.json', async () => {
    await mkdir(configDir, { recursive: true });
    await writeFile(file, JSON.stringify({ offsetTable: { 'TopicTest@please_rename_unique_group_name_4': { 0: 250, 1: 249, 2: 251, 3: 250 } } }));
    const offsets = await manager();
    assert.equal(offsets.query('please_rename_unique_group_name_4', 'TopicTest', 0), 250);
    assert.equal(offsets.query('please_rename_unique_group_name_4', 'TopicTest', 2), 251);
  });

  it('persist without changes writes nothing; persist(true) writes anyway', async () => {
    const offsets = await manager();
    await offsets.persist();
    await assert.rejects(stat(file), { code: 'ENOENT' });
    await offsets.persist(true);
    assert.deepEqual(JSON.parse(await readFile(file, 'utf8')), { offsetTable: {} });
  });

  it('deleteTopic drops its offsets from memory and, after persist, from the file', async () => {
    const offsets = await manager();
    offsets.commit('G', 'T', 0, 1);
    offsets.commit('G', 'U', 0, 2);
    await offsets.persist();
    offsets.deleteTopic('T');
    assert.equal(offsets.query('G', 'T', 0), -1);
    await offsets.persist();
    const json = JSON.parse(await readFile(file, 'utf8'));
    assert.deepEqual(json, { offsetTable: { 'U@G': { 0: 2 } } });
  });
});
