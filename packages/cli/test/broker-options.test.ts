import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvalidArgumentError, type Logger } from '@tern/common';
import { resolveBrokerConfig } from '../src/broker-options.js';

function recordingLogger(): Logger & { warnings: string[] } {
  const warnings: string[] = [];
  const ignore = (): void => {};
  return { warnings, debug: ignore, info: ignore, error: ignore, warn: (message: string) => warnings.push(message) };
}

describe('resolveBrokerConfig', () => {
  let dir: string;
  let savedNamesrvAddr: string | undefined;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tern-cli-broker-'));
  });

  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  beforeEach(() => {
    savedNamesrvAddr = process.env.NAMESRV_ADDR;
    delete process.env.NAMESRV_ADDR;
  });

  afterEach(() => {
    if (savedNamesrvAddr === undefined) delete process.env.NAMESRV_ADDR;
    else process.env.NAMESRV_ADDR = savedNamesrvAddr;
  });

  async function confFile(text: string): Promise<string> {
    const path = join(dir, `broker-${Math.random().toString(36).slice(2)}.conf`);
    await writeFile(path, text);
    return path;
  }

  it('without options gives the defaults, finished', () => {
    const config = resolveBrokerConfig({}, recordingLogger());
    assert.equal(config.listenPort, 10911);
    assert.equal(config.haListenPort, 10912);
    assert.equal(config.listenHost, '127.0.0.1');
    assert.equal(config.namesrvAddr, '');
  });

  it('reads broker.conf and warns about unknown keys', async () => {
    const logger = recordingLogger();
    const config = resolveBrokerConfig({
      config: await confFile('brokerClusterName = C9\nbrokerName = broker-z\nlistenPort = 20911\nsendMessageThreadPoolNums = 4\n'),
    }, logger);
    assert.equal(config.brokerClusterName, 'C9');
    assert.equal(config.brokerName, 'broker-z');
    assert.equal(config.listenPort, 20911);
    assert.equal(config.haListenPort, 20912);
    assert.equal(logger.warnings.length, 1);
    assert.match(logger.warnings[0]!, /sendMessageThreadPoolNums/);
  });

  it('precedence: broker.conf < NAMESRV_ADDR < flags < --set', async () => {
    const path = await confFile('namesrvAddr=conf:9876\nlistenPort=1111\nstorePathRootDir=/conf\n');
    process.env.NAMESRV_ADDR = 'env:9876';
    assert.equal(resolveBrokerConfig({ config: path }, recordingLogger()).namesrvAddr, 'env:9876');
    const flagged = resolveBrokerConfig({ config: path, namesrvAddr: 'flag:9876', listenPort: '2222', dataDir: '/flag' }, recordingLogger());
    assert.equal(flagged.namesrvAddr, 'flag:9876');
    assert.equal(flagged.listenPort, 2222);
    assert.equal(flagged.haListenPort, 2223);
    assert.equal(flagged.storePathRootDir, '/flag');
    assert.equal(flagged.storePathCommitLog, '/flag/commitlog');
    const set = resolveBrokerConfig({ config: path, listenPort: '2222', set: ['listenPort=3333', 'brokerName=broker-s'] }, recordingLogger());
    assert.equal(set.listenPort, 3333);
    assert.equal(set.brokerName, 'broker-s');
  });

  it('a malformed value is an InvalidArgumentError naming the key', async () => {
    assert.throws(() => resolveBrokerConfig({ listenPort: 'abc' }, recordingLogger()),
      (error: unknown) => error instanceof InvalidArgumentError && error.message.includes('listenPort'));
    const path = await confFile('flushDiskType=FAST\n');
    assert.throws(() => resolveBrokerConfig({ config: path }, recordingLogger()),
      (error: unknown) => error instanceof InvalidArgumentError && error.message.includes('flushDiskType'));
  });

  it('--set without "=" and a missing config file are errors', () => {
    assert.throws(() => resolveBrokerConfig({ set: ['listenPort'] }, recordingLogger()), /key=value/);
    assert.throws(() => resolveBrokerConfig({ config: join(dir, 'missing.conf') }, recordingLogger()), /missing\.conf.*ENOENT/);
  });
});
