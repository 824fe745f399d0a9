// Bad input against a real broker: every malformed request gets an error answer with a remark, and a peer sending
// garbage bytes or an oversized frame is disconnected without disturbing other clients or stored messages.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { RequestCode, ResponseCode, encodeSendMessageRequestHeader } from '@tern/protocol';
import { Harness, type TernProcess, type TestClient } from '@tern/testkit';
import { measure, ms } from './lib/util.js';

const MAX_MESSAGE_SIZE = 4_096;
const TOPIC = 'ValidTopic';

describe('bad input', () => {
  const h = new Harness();
  let broker: TernProcess;
  let client: TestClient;
  const stored: string[] = [];

  before(async () => {
    broker = await h.broker({ config: { autoCreateTopicEnable: false, maxMessageSize: MAX_MESSAGE_SIZE } });
    client = h.client({ timeoutMs: 5_000 });
    const created = await client.createTopic(broker.address, TOPIC, { writeQueueNums: 2 });
    assert.equal(created.code, ResponseCode.SUCCESS, created.remark ?? '');
    for (let i = 0; i < 20; i++) {
      const body = `stored-before-${i}`;
      const sent = await client.send(broker.address, TOPIC, i % 2, body);
      assert.equal(sent.code, ResponseCode.SUCCESS, sent.remark ?? '');
      stored.push(body);
    }
  });
  after(() => h.cleanup());

  function sendHeader(topic: string): Record<string, string> {
    return encodeSendMessageRequestHeader(RequestCode.SEND_MESSAGE_V2, {
      producerGroup: 'bad-input-producer', topic, defaultTopic: 'TBW102', defaultTopicQueueNums: 4, queueId: 0, sysFlag: 0,
      bornTimestamp: Date.now(), flag: 0, properties: '',
    });
  }

  it('an unknown request code gets REQUEST_CODE_NOT_SUPPORTED (3) with a remark, and the connection stays usable', async () => {
    const answer = await client.request(broker.address, 9_999);
    assert.equal(answer.code, ResponseCode.REQUEST_CODE_NOT_SUPPORTED);
    assert.match(answer.remark ?? '', /9999/, 'the remark names the code');
    const sent = await client.send(broker.address, TOPIC, 0, 'after unknown code');
    assert.equal(sent.code, ResponseCode.SUCCESS, sent.remark ?? '');
    stored.push('after unknown code');
  });

  it('SEND_MESSAGE_V2 without the topic field (b) is refused with a remark naming the field', async () => {
    const fields = sendHeader(TOPIC);
    delete fields.b;
    const answer = await client.request(broker.address, RequestCode.SEND_MESSAGE_V2, fields, Buffer.from('no topic'));
    assert.notEqual(answer.code, ResponseCode.SUCCESS);
    assert.match(answer.remark ?? '', /\bb\b/, `remark should name field b: ${answer.remark}`);
    assert.match(answer.remark ?? '', /topic/, `remark should name the topic property: ${answer.remark}`);

    const badQueue = { ...sendHeader(TOPIC), e: 'not-a-number' };
    const answer2 = await client.request(broker.address, RequestCode.SEND_MESSAGE_V2, badQueue, Buffer.from('bad queue id'));
    assert.notEqual(answer2.code, ResponseCode.SUCCESS);
    assert.match(answer2.remark ?? '', /\be\b.*queueId|queueId/, `remark should name field e (queueId): ${answer2.remark}`);
  });

  it('a send to a topic that does not exist (autoCreateTopicEnable=false) gets TOPIC_NOT_EXIST (17)', async () => {
    const answer = await client.send(broker.address, 'NoSuchTopic', 0, 'nobody home');
    assert.equal(answer.code, ResponseCode.TOPIC_NOT_EXIST, answer.remark ?? '');
    assert.match(answer.remark ?? '', /NoSuchTopic/);
  });

  it('a body over maxMessageSize gets MESSAGE_ILLEGAL (13); one at the limit is stored', async () => {
    const atLimit = await client.send(broker.address, TOPIC, 0, Buffer.alloc(MAX_MESSAGE_SIZE, 0x61));
    assert.equal(atLimit.code, ResponseCode.SUCCESS, `body of exactly maxMessageSize: ${atLimit.remark}`);
    stored.push('a'.repeat(MAX_MESSAGE_SIZE));
    const over = await client.send(broker.address, TOPIC, 0, Buffer.alloc(MAX_MESSAGE_SIZE + 1, 0x62));
    assert.equal(over.code, ResponseCode.MESSAGE_ILLEGAL, over.remark ?? '');
    assert.match(over.remark ?? '', /\S/, 'MESSAGE_ILLEGAL carries a remark');
    const batch = await client.sendBatch(broker.address, TOPIC, 1, ['small', Buffer.alloc(MAX_MESSAGE_SIZE + 1, 0x63)]);
    assert.equal(batch.code, ResponseCode.MESSAGE_ILLEGAL, `batch with an oversized member: ${batch.remark}`);
  });

  it('invalid topic names are refused with a remark', async () => {
    for (const topic of ['bad topic!', 'a/b', 'x'.repeat(128)]) {
      const sent = await client.send(broker.address, topic, 0, 'invalid topic');
      assert.notEqual(sent.code, ResponseCode.SUCCESS, `send to ${JSON.stringify(topic)}`);
      assert.match(sent.remark ?? '', /topic/i, `send to ${JSON.stringify(topic)}: remark ${sent.remark}`);
      const created = await client.createTopic(broker.address, topic);
      assert.notEqual(created.code, ResponseCode.SUCCESS, `create ${JSON.stringify(topic)}`);
      assert.match(created.remark ?? '', /topic/i, `create ${JSON.stringify(topic)}: remark ${created.remark}`);
    }
  });

  it('malformed bodies and out-of-range fields get error answers with remarks', async () => {
    const cases: Array<[string, () => Promise<{ code: number; remark: string | null }>, number | null]> = [
      ['batch body that is not a batch', () => client.request(broker.address, RequestCode.SEND_BATCH_MESSAGE,
        encodeSendMessageRequestHeader(RequestCode.SEND_BATCH_MESSAGE, {
          producerGroup: 'bad-input-producer', topic: TOPIC, defaultTopic: 'TBW102', defaultTopicQueueNums: 4, queueId: 0, sysFlag: 0,
          bornTimestamp: Date.now(), flag: 0, properties: '', batch: true,
        }), Buffer.from('certainly not a batch body')), null],
      ['heartbeat body that is not JSON', () => client.request(broker.address, RequestCode.HEART_BEAT, {}, Buffer.from('{not json')), null],
      ['send to a queue the topic does not have', () => client.send(broker.address, TOPIC, 5, 'queue 5 of 2'), null],
      ['pull from a queue the topic does not have', () => client.pull(broker.address, 'bad-input-group', TOPIC, 9, 0, 32), null],
      ['pull from a topic that does not exist', () => client.pull(broker.address, 'bad-input-group', 'NoSuchTopic', 0, 0, 32), ResponseCode.TOPIC_NOT_EXIST],
      ['pull with an unparsable subscription', () => client.pull(broker.address, 'bad-input-group', TOPIC, 0, 0, 32, { subscription: '||' }),
        ResponseCode.SUBSCRIPTION_PARSE_FAILED],
      ['properties over 32 KiB', () => client.send(broker.address, TOPIC, 0, 'big properties', { KEYS: 'k'.repeat(40_000) }), ResponseCode.MESSAGE_ILLEGAL],
      ['send to a system topic', () => client.send(broker.address, 'SCHEDULE_TOPIC_XXXX', 0, 'not allowed'), ResponseCode.NO_PERMISSION],
    ];
    for (const [name, pending, code] of cases) {
      const answer = await pending();
      if (code === null) assert.notEqual(answer.code, ResponseCode.SUCCESS, `${name}: code ${answer.code}`);
      else assert.equal(answer.code, code, `${name}: ${answer.remark}`);
      assert.match(answer.remark ?? '', /\S/, `${name}: the error answer carries a remark`);
    }
  });

  /** Opens a raw socket, writes `bytes`, and resolves with how long the broker took to close it (rejects after 3 s). */
  async function closedAfter(bytes: Buffer): Promise<number> {
    const [host, port] = broker.address.split(':') as [string, string];
    const socket: Socket = connect({ host, port: Number(port) });
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once('connect', resolve);
        socket.once('error', reject);
      });
      socket.on('error', () => undefined); // a reset after the broker closes is fine
      const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
      const started = performance.now();
      socket.write(bytes);
      // Meanwhile another client keeps being served.
      const sent = await client.send(broker.address, TOPIC, 1, 'while a bad peer is connected');
      assert.equal(sent.code, ResponseCode.SUCCESS, sent.remark ?? '');
      stored.push('while a bad peer is connected');
      let timer: NodeJS.Timeout | undefined;
      const outcome = await Promise.race([
        closed.then(() => 'closed' as const),
        new Promise<'open'>((resolve) => (timer = setTimeout(() => resolve('open'), 3_000))),
      ]);
      clearTimeout(timer);
      assert.equal(outcome, 'closed', 'the broker closes a connection that sent bad bytes');
      return performance.now() - started;
    } finally {
      socket.destroy();
    }
  }

  function frame(lengthField: number, rest: Buffer): Buffer {
    const head = Buffer.alloc(4);
    head.writeInt32BE(lengthField | 0);
    return Buffer.concat([head, rest]);
  }

  it('garbage bytes close that connection only', async () => {
    const cases: Array<[string, Buffer]> = [
      ['HTTP request', Buffer.from('GET / HTTP/1.1\r\nHost: tern\r\n\r\n')],
      ['negative length', frame(-5, Buffer.from('xxxxxxxx'))],
      ['header longer than the frame', frame(8, Buffer.from([0, 0, 0, 100, 1, 2, 3, 4]))],
      ['not JSON in a JSON header', (() => {
        const header = Buffer.from('this is not json');
        const word = Buffer.alloc(4);
        word.writeInt32BE(header.length);
        return frame(4 + header.length, Buffer.concat([word, header]));
      })()],
      ['unknown serialize type', (() => {
        const header = Buffer.from('{}');
        const word = Buffer.alloc(4);
        word.writeInt32BE((7 << 24) | header.length);
        return frame(4 + header.length, Buffer.concat([word, header]));
      })()],
    ];
    for (const [name, bytes] of cases) {
      const elapsed = await closedAfter(bytes);
      measure(`bad peer closed (${name})`, ms(elapsed));
    }
  });

  it('a 17 MiB length prefix closes that connection without waiting for the bytes', async () => {
    const elapsed = await closedAfter(frame(17 * 1024 * 1024, Buffer.alloc(64, 0x7a)));
    measure('bad peer closed (17 MiB frame)', ms(elapsed));
  });

  it('every message stored before (and between) the bad input is still readable', async () => {
    const bodies: string[] = [];
    for (const queueId of [0, 1]) {
      const records = await client.pullAll(broker.address, 'bad-input-reader', TOPIC, queueId);
      records.forEach((record, i) => assert.equal(record.queueOffset, i));
      bodies.push(...records.map((r) => Buffer.from(r.body).toString('utf8')));
    }
    assert.deepEqual([...bodies].sort(), [...stored].sort());
  });
});
