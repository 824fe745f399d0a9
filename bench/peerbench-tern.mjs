// Shared implementation of the two Tern peerbench drivers (peerbench-driver.mjs: SYNC_FLUSH,
// peerbench-driver-async.mjs: ASYNC_FLUSH). It starts a real `tern start` process on 127.0.0.1 with its data under
// peerbench's dataDir and drives it with Tern's own client (packages/client), built by `npm ci` in the repository.
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = (pkg) => path.join(repo, 'packages', pkg, 'dist', 'src', 'index.js');
const TOPIC_QUEUES = 8;

function startTern(dataDir, flushDiskType) {
  const child = spawn(process.execPath, [
    // The flag the `tern` executable's shebang passes (see packages/cli/bin/tern.js): `npx tern start` runs this way.
    '--initial-old-space-size=64',
    // Experiments only: node flags for the broker, e.g. PEERBENCH_TERN_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof".
    ...(process.env.PEERBENCH_TERN_NODE_ARGS ?? '').split(/\s+/).filter(Boolean),
    path.join(repo, 'packages', 'cli', 'bin', 'tern.js'), 'start', '--data-dir', path.join(dataDir, 'tern'),
    '--namesrv-port', '0', '--listen-port', '0', '--set', `flushDiskType=${flushDiskType}`,
    // Experiments only: extra broker.conf keys, e.g. PEERBENCH_TERN_SET="messageIndexEnable=false flushIntervalConsumeQueue=5000".
    ...(process.env.PEERBENCH_TERN_SET ?? '').split(/\s+/).filter(Boolean).flatMap((kv) => ['--set', kv]),
  ], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, TERN_LOG_LEVEL: 'warn' } });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (chunk) => { stderr = (stderr + chunk).slice(-4000); });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`tern start not ready in 30 s: ${stderr}`)); }, 30_000);
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`tern start exited ${code}: ${stderr}`)); });
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
      const ready = /READY namesrv=(\S+) broker=(\S+)/.exec(stdout);
      if (!ready) return;
      clearTimeout(timer);
      child.removeAllListeners('exit');
      resolve({ child, namesrvAddr: ready[1], brokerAddr: ready[2] });
    });
  });
}

export function ternPeer({ name, flushDiskType, durability }) {
  return {
    name,
    description: `Tern (tern start: name server + broker in one process, ${flushDiskType}), Tern's TypeScript client`,
    durability,
    settings: {
      server: `tern start (node --initial-old-space-size=64, as the tern executable starts), flushDiskType=${flushDiskType}, 1 GiB CommitLog segments, topic with ${TOPIC_QUEUES} queues`,
      producer: 'Producer with autoBatch: the sends of one event-loop turn (at most 128 messages / 256 KiB) go as one ' +
        'SEND_BATCH_MESSAGE request; each send() resolves with its own SendResult when the broker acknowledges the batch',
      consumer: 'PushConsumer, clustering, CONSUME_FROM_FIRST_OFFSET, long-polling pulls of up to 256 messages per queue ' +
        '(pullBatchSize 256; Java\'s default is 32), one listener call per message, then CONSUME_SUCCESS (offsets ' +
        'committed every 5 s and on close: the broker-side ack of RocketMQ)',
    },
    version: () => 'tern 0.1.0',
    async startServer({ dataDir }) {
      const server = await startTern(dataDir, flushDiskType);
      return {
        pid: server.child.pid,
        conn: { namesrvAddr: server.namesrvAddr, brokerAddr: server.brokerAddr },
        stop: async () => {
          if (server.child.exitCode !== null) return;
          const exited = once(server.child, 'exit');
          server.child.kill('SIGTERM');
          const timer = setTimeout(() => server.child.kill('SIGKILL'), 15_000);
          await exited;
          clearTimeout(timer);
        },
      };
    },
    async createDriver(conn) {
      const client = await import(dist('client'));
      const { RemotingClient } = await import(dist('remoting'));
      const protocol = await import(dist('protocol'));
      const admin = new RemotingClient();
      const closers = [];
      const call = async (code, fields) => {
        const response = await admin.invoke(conn.brokerAddr, protocol.requestCommand(code, fields), 10_000);
        if (response.code !== 0) throw new Error(`request ${code}: ${response.code} ${response.remark}`);
      };
      return {
        async createTopic(topic) {
          await call(protocol.RequestCode.UPDATE_AND_CREATE_TOPIC, {
            topic, defaultTopic: 'TBW102', readQueueNums: TOPIC_QUEUES, writeQueueNums: TOPIC_QUEUES, perm: 6,
            topicFilterType: 'SINGLE_TAG', topicSysFlag: 0, order: false,
          });
        },
        async deleteTopic(topic) {
          await call(protocol.RequestCode.DELETE_TOPIC_IN_BROKER, { topic });
        },
        async createProducer(topic) {
          const producer = new client.Producer({
            producerGroup: `pb_p_${randomUUID().slice(0, 8)}`, namesrvAddr: conn.namesrvAddr, instanceName: `pb-${randomUUID().slice(0, 8)}`,
            autoBatch: true,
          });
          await producer.start();
          closers.push(() => producer.shutdown());
          return {
            send: (payload) => producer.send(new client.Message(topic, payload)),
            close: () => producer.shutdown(),
          };
        },
        async createConsumer(topic, onMessage) {
          const consumer = new client.PushConsumer({
            consumerGroup: `pb_c_${topic.replace(/[^A-Za-z0-9_-]/g, '_')}`, namesrvAddr: conn.namesrvAddr,
            instanceName: `pb-${randomUUID().slice(0, 8)}`, consumeFromWhere: 'CONSUME_FROM_FIRST_OFFSET', pullBatchSize: 256,
          });
          consumer.subscribe(topic, '*');
          consumer.registerMessageListener(async (messages) => {
            for (const message of messages) onMessage(message.body);
            return 'CONSUME_SUCCESS';
          });
          await consumer.start();
          closers.push(() => consumer.shutdown());
          return { close: () => consumer.shutdown() };
        },
        async close() {
          for (const close of closers.splice(0)) await close().catch(() => undefined);
          await admin.close();
        },
      };
    },
  };
}
