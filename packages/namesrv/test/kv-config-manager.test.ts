import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KvConfigManager, KvConfigPersistError } from '../src/index.js';

describe('KvConfigManager', () => {
  let dir: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tern-namesrv-kv-'));
  });

  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('puts, gets, lists and deletes in memory', async () => {
    const kv = new KvConfigManager({ kvConfigPath: null });
    await kv.load();
    assert.equal(kv.get('ns', 'k'), undefined);
    assert.equal(kv.getNamespace('ns'), null);
    await kv.put('ns', 'b', '2');
    await kv.put('ns', 'a', '1');
    await kv.put('other', '__proto__', 'x');
    assert.equal(kv.get('ns', 'a'), '1');
    assert.deepEqual(Object.keys(kv.getNamespace('ns')!), ['a', 'b']);
    assert.equal(kv.getNamespace('other')?.['__proto__'], 'x');
    assert.equal(await kv.delete('ns', 'a'), true);
    assert.equal(await kv.delete('ns', 'a'), false);
    assert.equal(await kv.delete('ns', 'b'), true);
    assert.equal(kv.getNamespace('ns'), null, 'an emptied namespace is gone');
  });

  it('persists every change in RocketMQ\'s kvConfig.json form and loads it back', async () => {
    const path = join(dir, 'nested', 'kvConfig.json');
    const kv = new KvConfigManager({ kvConfigPath: path });
    await kv.load();
    await Promise.all([kv.put('ORDER_TOPIC_CONFIG', 'T', 'broker-a:8'), kv.put('ns', 'k', 'v1'), kv.put('ns', 'k', 'v2')]);
    assert.equal(await readFile(path, 'utf8'), '{"configTable":{"ORDER_TOPIC_CONFIG":{"T":"broker-a:8"},"ns":{"k":"v2"}}}');

    await writeFile(`${path}.tmp`, 'garbage from a crash');
    const reloaded = new KvConfigManager({ kvConfigPath: path });
    await reloaded.load();
    assert.deepEqual(reloaded.snapshot(), { ORDER_TOPIC_CONFIG: { T: 'broker-a:8' }, ns: { k: 'v2' } });
    await reloaded.delete('ns', 'k');
    assert.equal(await readFile(path, 'utf8'), '{"configTable":{"ORDER_TOPIC_CONFIG":{"T":"broker-a:8"}}}');
  });

  it('refuses to start from a file that is not a KV config', async () => {
    const path = join(dir, 'bad.json');
    await writeFile(path, '{"configTable":{"ns":{"k":1}}}');
    await assert.rejects(new KvConfigManager({ kvConfigPath: path }).load(), (error: unknown) => {
      assert.ok(error instanceof KvConfigPersistError);
      assert.match(error.message, /bad\.json is not valid: .*configTable\.ns\.k is not a string/);
      return true;
    });
  });

  it('changes nothing when the write fails', async () => {
    const sub = join(dir, 'vanishing');
    const path = join(sub, 'kvConfig.json');
    const kv = new KvConfigManager({ kvConfigPath: path });
    await kv.load();
    await kv.put('ns', 'k', 'before');
    await rm(sub, { recursive: true });
    await assert.rejects(kv.put('ns', 'k', 'after'), KvConfigPersistError);
    assert.equal(kv.get('ns', 'k'), 'before');
    await kv.put('ns', 'k', 'before'); // unchanged value: no write needed, so no failure
  });
});
