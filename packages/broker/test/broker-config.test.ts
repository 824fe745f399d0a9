import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidArgumentError } from '@tern/common';
import {
  applyBrokerConfig, brokerConfigKeyDocs, defaultBrokerConfig, finishBrokerConfig, parseDelayLevels, parseJavaProperties,
} from '../src/index.js';

function apply(values: Record<string, string>) {
  return applyBrokerConfig(defaultBrokerConfig(), Object.entries(values));
}

/** Asserts that `run` throws an InvalidArgumentError whose message names `key`. */
function assertRejects(run: () => unknown, key: string): void {
  assert.throws(run, (error: unknown) => {
    assert.ok(error instanceof InvalidArgumentError, `expected InvalidArgumentError, got ${String(error)}`);
    assert.ok(error.message.includes(key), `message ${JSON.stringify(error.message)} should name ${key}`);
    return true;
  });
}

describe('applyBrokerConfig', () => {
  it('applies RocketMQ broker.conf keys with their types', () => {
    const { config, unknownKeys } = apply({
      brokerClusterName: 'ProdCluster',
      brokerName: 'broker-b',
      brokerId: '0',
      namesrvAddr: '10.0.0.1:9876;10.0.0.2:9876',
      listenPort: '20911',
      brokerIP1: '10.0.0.7',
      storePathRootDir: '/data/rocketmq/store',
      mappedFileSizeCommitLog: '1073741824',
      flushDiskType: 'ASYNC_FLUSH',
      autoCreateTopicEnable: 'false',
      defaultTopicQueueNums: '4',
      messageDelayLevel: '1s 10s 1m 1h 1d',
      maxMessageSize: '4194304',
    });
    assert.deepEqual(unknownKeys, []);
    assert.equal(config.brokerClusterName, 'ProdCluster');
    assert.equal(config.brokerName, 'broker-b');
    assert.equal(config.brokerId, 0);
    assert.equal(config.namesrvAddr, '10.0.0.1:9876;10.0.0.2:9876');
    assert.equal(config.listenPort, 20911);
    assert.equal(config.brokerIP1, '10.0.0.7');
    assert.equal(config.storePathRootDir, '/data/rocketmq/store');
    assert.equal(config.mappedFileSizeCommitLog, 1073741824);
    assert.equal(config.flushDiskType, 'ASYNC_FLUSH');
    assert.equal(config.autoCreateTopicEnable, false);
    assert.equal(config.defaultTopicQueueNums, 4);
    assert.equal(config.messageDelayLevel, '1s 10s 1m 1h 1d');
    assert.equal(config.maxMessageSize, 4194304);
    // Derived defaults.
    assert.equal(config.storePathCommitLog, '/data/rocketmq/store/commitlog');
    assert.equal(config.listenHost, '10.0.0.7');
  });

  it('trims values (broker.conf often has "key = value ")', () => {
    const { config } = apply({ listenPort: ' 10921 ', autoCreateTopicEnable: ' true ', brokerName: ' broker-c ' });
    assert.equal(config.listenPort, 10921);
    assert.equal(config.autoCreateTopicEnable, true);
    assert.equal(config.brokerName, 'broker-c');
  });

  it('works on the output of parseJavaProperties', () => {
    const properties = parseJavaProperties('brokerClusterName = C1\nbrokerName : b1\nlistenPort 30911\n# c\nflushDiskType=SYNC_FLUSH\n');
    const { config, unknownKeys } = applyBrokerConfig(defaultBrokerConfig(), properties);
    assert.deepEqual(unknownKeys, []);
    assert.equal(config.brokerClusterName, 'C1');
    assert.equal(config.brokerName, 'b1');
    assert.equal(config.listenPort, 30911);
    assert.equal(config.haListenPort, 30912);
    assert.equal(config.flushDiskType, 'SYNC_FLUSH');
  });

  it('reports unknown keys without failing, in input order, and leaves the config alone for them', () => {
    const { config, unknownKeys } = applyBrokerConfig(defaultBrokerConfig(), [
      ['sendMessageThreadPoolNums', '16'], ['brokerName', 'broker-x'], ['transientStorePoolEnable', 'maybe'],
    ]);
    assert.deepEqual(unknownKeys, ['sendMessageThreadPoolNums', 'transientStorePoolEnable']);
    assert.equal(config.brokerName, 'broker-x');
    assert.equal((config as unknown as Record<string, unknown>).sendMessageThreadPoolNums, undefined);
  });

  it('does not modify the base config', () => {
    const base = defaultBrokerConfig();
    const copy = structuredClone(base);
    apply({ listenPort: '1234' });
    applyBrokerConfig(base, [['listenPort', '1234'], ['brokerName', 'zzz']]);
    assert.deepEqual(base, copy);
  });

  it('later values win', () => {
    const { config } = applyBrokerConfig(defaultBrokerConfig(), [['listenPort', '1000'], ['listenPort', '2000']]);
    assert.equal(config.listenPort, 2000);
  });

  it('rejects a non-integer listenPort naming the key', () => {
    assertRejects(() => apply({ listenPort: 'abc' }), 'listenPort');
    assertRejects(() => apply({ listenPort: '10911.5' }), 'listenPort');
    assertRejects(() => apply({ listenPort: '' }), 'listenPort');
    assertRejects(() => apply({ listenPort: '70000' }), 'listenPort');
  });

  it('rejects an unknown flushDiskType naming the key', () => {
    assertRejects(() => apply({ flushDiskType: 'FAST' }), 'flushDiskType');
    assertRejects(() => apply({ flushDiskType: 'sync_flush' }), 'flushDiskType');
  });

  it('rejects a boolean that is not true/false naming the key', () => {
    assertRejects(() => apply({ autoCreateTopicEnable: 'yes' }), 'autoCreateTopicEnable');
    assertRejects(() => apply({ autoCreateTopicEnable: '1' }), 'autoCreateTopicEnable');
  });

  it('rejects a malformed messageDelayLevel naming the key', () => {
    assertRejects(() => apply({ messageDelayLevel: '1s 1x' }), 'messageDelayLevel');
    assertRejects(() => apply({ messageDelayLevel: '1x' }), 'messageDelayLevel');
    assertRejects(() => apply({ messageDelayLevel: '' }), 'messageDelayLevel');
  });

  it('rejects malformed integers for other int keys naming them', () => {
    assertRejects(() => apply({ maxMessageSize: '4M' }), 'maxMessageSize');
    assertRejects(() => apply({ mappedFileSizeCommitLog: '1e9' }), 'mappedFileSizeCommitLog');
    assertRejects(() => apply({ brokerId: 'zero' }), 'brokerId');
    assertRejects(() => apply({ defaultTopicQueueNums: '0' }), 'defaultTopicQueueNums');
  });

  it('haListenPort defaults to listenPort + 1 unless set', () => {
    assert.equal(apply({}).config.haListenPort, 10912);
    assert.equal(apply({ listenPort: '20911' }).config.haListenPort, 20912);
    assert.equal(apply({ listenPort: '20911', haListenPort: '30000' }).config.haListenPort, 30000);
    assert.equal(apply({ listenPort: '0' }).config.haListenPort, 0);
  });
});

describe('finishBrokerConfig', () => {
  it('fills derived defaults of defaultBrokerConfig()', () => {
    const config = finishBrokerConfig({ ...defaultBrokerConfig(), storePathRootDir: '/tmp/x' });
    assert.equal(config.listenHost, '127.0.0.1');
    assert.equal(config.haListenPort, 10912);
    assert.equal(config.storePathCommitLog, '/tmp/x/commitlog');
  });

  it('rejects an invalid brokerName', () => {
    assertRejects(() => finishBrokerConfig({ ...defaultBrokerConfig(), brokerName: 'bad name' }), 'brokerName');
  });
});

describe('parseDelayLevels', () => {
  it('the default string gives RocketMQ\'s 18 levels, 1 s to 2 h in ms', () => {
    const levels = parseDelayLevels(defaultBrokerConfig().messageDelayLevel);
    const s = 1_000;
    const m = 60 * s;
    const h = 60 * m;
    assert.deepEqual(levels, [
      1 * s, 5 * s, 10 * s, 30 * s, 1 * m, 2 * m, 3 * m, 4 * m, 5 * m, 6 * m, 7 * m, 8 * m, 9 * m, 10 * m, 20 * m, 30 * m, 1 * h, 2 * h,
    ]);
    assert.equal(levels.length, 18);
  });

  it('accepts the d unit and extra whitespace', () => {
    assert.deepEqual(parseDelayLevels('  1s\t2m   3h 1d '), [1_000, 120_000, 10_800_000, 86_400_000]);
  });

  it('rejects unknown units, missing numbers and empty strings', () => {
    for (const bad of ['1x', '5', 's', '1s 2', '', '   ', '1.5s', '-1s']) {
      assertRejects(() => parseDelayLevels(bad), 'messageDelayLevel');
    }
  });
});

describe('brokerConfigKeyDocs', () => {
  it('documents every key the config has', () => {
    const keys = brokerConfigKeyDocs().map((entry) => entry.key).sort();
    assert.deepEqual(keys, Object.keys(defaultBrokerConfig()).sort());
    for (const entry of brokerConfigKeyDocs()) assert.ok(entry.doc.length > 0, entry.key);
  });
});
