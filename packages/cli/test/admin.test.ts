import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Harness } from '@tern/testkit';

const TERN = fileURLToPath(new URL('../../bin/tern.js', import.meta.url));

function tern(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [TERN, ...args], { encoding: 'utf8', timeout: 20_000, env: { ...process.env, NAMESRV_ADDR: '' } });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

test('tern admin - updateTopic on a cluster, topicRoute, topicList, clusterList, deleteTopic, and one-line errors', async (t) => {
  const h = new Harness();
  t.after(() => h.cleanup());
  const server = await h.allInOne({});
  const ns = server.namesrvAddress!;

  const created = tern('admin', 'updateTopic', '-n', ns, '-t', 'AdminTopic', '-r', '4', '-w', '4');
  assert.equal(created.code, 0, created.stderr);
  assert.match(created.stdout, /create topic AdminTopic on .* success \(read 4, write 4, perm 6\)/);

  const route = tern('admin', 'topicRoute', '-n', ns, '-t', 'AdminTopic');
  assert.equal(route.code, 0, route.stderr);
  const parsed = JSON.parse(route.stdout) as { queueDatas: Array<{ readQueueNums: number; writeQueueNums: number }> };
  assert.equal(parsed.queueDatas[0]?.writeQueueNums, 4);

  assert.match(tern('admin', 'topicList', '-n', ns).stdout, /^AdminTopic$/m);
  assert.match(tern('admin', 'clusterList', '-n', ns).stdout, /DefaultCluster\s+broker-a\s+0\s+127\.0\.0\.1:\d+/);

  const deleted = tern('admin', 'deleteTopic', '-n', ns, '-t', 'AdminTopic');
  assert.equal(deleted.code, 0, deleted.stderr);
  const gone = tern('admin', 'topicRoute', '-n', ns, '-t', 'AdminTopic');
  assert.equal(gone.code, 1);
  assert.match(gone.stderr, /^tern: topicRoute AdminTopic: .* answered TOPIC_NOT_EXIST/);
  assert.equal(gone.stderr.trim().split('\n').length, 1, 'one line');

  const bad = tern('admin', 'updateTopic', '-n', ns, '-t', 'bad topic');
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /contains characters other than/);
  const noServer = tern('admin', 'clusterList', '-n', '127.0.0.1:1');
  assert.equal(noServer.code, 1);
  assert.match(noServer.stderr, /did not answer/);
});
