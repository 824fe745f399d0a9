import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type HostAddress, decodeMessageRecord, encodeProperties } from '@tern/protocol';
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
