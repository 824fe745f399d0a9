import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type DecodedMessageRecord, type HostAddress, MessageProperty, decodeMessageRecord, encodeProperties } from '@tern/protocol';
import { MessageStore, type MessageStoreOptions, type PutMessageInput, type StoreConfig, testStoreConfig } from '../src/index.js';

export const bornHost: HostAddress = { ip: Uint8Array.of(127, 0, 0, 1), port: 40001 };

export function tempDir(prefix = 'tern-store-'): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export function message(
  topic: string,
  queueId: number,
  body: string | Uint8Array,
  properties: Record<string, string> = {},
): PutMessageInput {
  return {
    topic, queueId, flag: 0, body: typeof body === 'string' ? Buffer.from(body) : body, properties: encodeProperties(properties),
    sysFlag: 0, bornTimestampMs: Date.now(), bornHost, reconsumeTimes: 0, preparedTransactionOffset: 0,
  };
}

export async function openStore(
  dir: string,
  overrides: Partial<StoreConfig> = {},
  options: MessageStoreOptions = {},
): Promise<MessageStore> {
  const store = new MessageStore({ ...testStoreConfig(dir), ...overrides }, options);
  await store.start();
  return store;
}

/** Every message of a queue, decoded, read with pulls of `batch` from the min offset. */
export async function readQueue(store: MessageStore, topic: string, queueId: number, batch = 32) {
  const out: Array<ReturnType<typeof decodeMessageRecord>> = [];
  let queueOffset = store.getMinOffsetInQueue(topic, queueId);
  for (let i = 0; i < 1_000_000; i++) {
    const result = await store.getMessage(topic, queueId, queueOffset, batch, { maxTotalBytes: 1 << 20 });
    if (result.status !== 'FOUND') break;
    for (const record of result.messages) out.push(decodeMessageRecord(record));
    queueOffset = result.nextBeginOffset;
  }
  return out;
}

// ---- durability tests (crash-sigkill, power-loss, io-faults, fixtures/put-child) ------------------------------------
// Their messages carry an id: KEYS = the decimal id, body = `${id}:` followed by filler derived from the id, so a
// recovered record can be checked byte for byte against its id.

/** The body of message `id`, `sizeBytes` long. */
export function bodyFor(id: number, sizeBytes: number): Buffer {
  const body = Buffer.alloc(sizeBytes);
  const head = `${id}:`;
  body.write(head, 0, 'latin1');
  for (let i = head.length; i < sizeBytes; i++) body[i] = 97 + ((id * 7 + i) % 26);
  return body;
}

/** Message `id` (KEYS = id, body = bodyFor(id, sizeBytes)). */
export function idMessage(topic: string, id: number, queueId: number, sizeBytes: number, host: HostAddress = bornHost): PutMessageInput {
  return { ...message(topic, queueId, bodyFor(id, sizeBytes), { [MessageProperty.KEYS]: String(id) }), bornHost: host };
}

/** The id of a record put as idMessage (its KEYS). */
export function idOf(record: DecodedMessageRecord): number {
  return Number(record.propertyMap.get(MessageProperty.KEYS));
}

/** SYNC_FLUSH, with retention kept out of the way whatever the host disk usage is; then `overrides`. */
export function durableStoreConfig(dir: string, overrides: Partial<StoreConfig> = {}): StoreConfig {
  return {
    ...testStoreConfig(dir), flushDiskType: 'SYNC_FLUSH',
    diskUsageCleanEarlyRatio: 1, diskUsageCleanForciblyRatio: 1, diskMaxUsedSpaceRatio: 1,
    ...overrides,
  };
}

/**
 * What was put across a whole test: id → queueId for every attempt, id → ack time for every PUT_OK (where the test
 * records them). Ids are dense from 1.
 */
export class Ledger {
  readonly attempted = new Map<number, number>();
  readonly acked = new Map<number, number>();
  nextId = 1;

  constructor(readonly topic: string, readonly queues: number, readonly host: HostAddress = bornHost) {}

  /** `count` new ids, each to a random queue with a body of 10 to `maxBodyBytes` bytes, recorded as attempted. */
  attempt(count: number, random: () => number, maxBodyBytes: number): { ids: number[]; inputs: PutMessageInput[] } {
    const ids: number[] = [];
    const inputs: PutMessageInput[] = [];
    for (let i = 0; i < count; i++) {
      const id = this.nextId++;
      const queueId = Math.floor(random() * this.queues);
      this.attempted.set(id, queueId);
      ids.push(id);
      inputs.push(idMessage(this.topic, id, queueId, 10 + Math.floor(random() * (maxBodyBytes - 9)), this.host));
    }
    return { ids, inputs };
  }
}

export interface IdLocation { queueId: number; queueOffset: number; physicalOffset: number }

/**
 * Reads every queue of the store (all of `topic`) from its min offset (0: nothing was deleted) to its max and checks
 * each record: decodes, queue offsets dense and equal to the record's own QUEUEOFFSET, body matches its id, no id
 * twice; `checkId` adds the caller's checks (was the id put, to that queue?). Returns id → location.
 */
export async function readAllById(
  store: MessageStore, topic: string, checkId: (id: number, record: DecodedMessageRecord, queueId: number, queueOffset: number) => void,
): Promise<Map<number, IdLocation>> {
  const found = new Map<number, IdLocation>();
  for (const { topic: queueTopic, queueId } of store.topicQueues()) {
    assert.equal(queueTopic, topic, `unexpected topic ${queueTopic}`);
    const minOffset = store.getMinOffsetInQueue(topic, queueId);
    const maxOffset = store.getMaxOffsetInQueue(topic, queueId);
    assert.equal(minOffset, 0, `queue ${queueId}: min offset ${minOffset}, nothing was deleted`);
    let expected = minOffset;
    // Bounded: each pass returns at least one message or fails.
    for (let pass = 0; expected < maxOffset && pass <= maxOffset; pass++) {
      const result = await store.getMessage(topic, queueId, expected, 64);
      assert.equal(result.status, 'FOUND', `queue ${queueId} offset ${expected}/${maxOffset}: ${result.status}`);
      for (const [i, record] of result.messages.entries()) {
        const queueOffset = result.queueOffsets[i]!;
        assert.equal(queueOffset, expected, `queue ${queueId}: hole before offset ${queueOffset} (expected ${expected})`);
        const decoded = decodeMessageRecord(record);
        const id = idOf(decoded);
        checkId(id, decoded, queueId, queueOffset);
        assert.equal(decoded.topic, topic);
        assert.equal(decoded.queueId, queueId);
        assert.equal(decoded.queueOffset, queueOffset, 'record QUEUEOFFSET differs from its ConsumeQueue position');
        assert.ok(bodyFor(id, decoded.body.length).equals(Buffer.from(decoded.body)), `id ${id}: body bytes differ`);
        const previous = found.get(id);
        assert.equal(previous, undefined, `id ${id} stored twice: ${JSON.stringify(previous)} and queue ${queueId} offset ${queueOffset}`);
        found.set(id, { queueId, queueOffset, physicalOffset: decoded.physicalOffset });
        expected++;
      }
      assert.equal(result.nextBeginOffset, expected);
    }
    assert.equal(expected, maxOffset, `queue ${queueId}: read ended at ${expected} of ${maxOffset}`);
  }
  return found;
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Runs `fn` with a new temporary directory, removed afterwards. */
export async function withDir(prefix: string, fn: (dir: string) => Promise<void>): Promise<void> {
  const { dir, remove } = tempDir(prefix);
  try {
    await fn(dir);
  } finally {
    remove();
  }
}
