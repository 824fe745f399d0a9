import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { TernError, silentLogger, type Logger } from '@tern/common';
import { jsonBody, jsonShape } from '@tern/protocol';

/** The KV namespace whose `topic → "brokerA:8;brokerB:8"` entries become a route's orderTopicConf. */
export const NAMESPACE_ORDER_TOPIC_CONFIG = 'ORDER_TOPIC_CONFIG';

/** RocketMQ's kvConfig.json (KVConfigSerializeWrapper): `{"configTable":{"namespace":{"key":"value"}}}`. */
const KvConfigFile = jsonBody(
  'KVConfigSerializeWrapper',
  jsonShape.object({ configTable: jsonShape.withDefault(jsonShape.map(jsonShape.map(jsonShape.string)), {}) }),
);

type ConfigTable = Map<string, Map<string, string>>;

export interface KvConfigManagerOptions {
  /** Where the table is persisted; null keeps it in memory only. */
  kvConfigPath: string | null;
  logger?: Logger;
}

/** The file could not be read, parsed or written. */
export class KvConfigPersistError extends TernError {}

function errorCode(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'code' in error ? String((error as { code: unknown }).code) : undefined;
}

function cloneTable(table: ConfigTable): ConfigTable {
  return new Map([...table].map(([namespace, entries]) => [namespace, new Map(entries)]));
}

function toRecord(entries: ReadonlyMap<string, string>): Record<string, string> {
  return Object.fromEntries([...entries].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** Writes `data` to `path` so that a crash leaves either the old or the new file: tmp + fsync + rename + fsync dir. */
async function writeFileAtomically(path: string, data: Buffer): Promise<void> {
  const tmp = `${path}.tmp`;
  const file = await open(tmp, 'w');
  try {
    await file.writeFile(data);
    await file.sync();
  } finally {
    await file.close();
  }
  await rename(tmp, path);
  const dir = await open(dirname(path), 'r');
  try {
    await dir.sync();
  } catch (error) {
    // Some platforms cannot fsync a directory; the rename is then as durable as that platform allows.
    if (!['EISDIR', 'EINVAL', 'EPERM', 'EBADF'].includes(errorCode(error) ?? '')) throw error;
  } finally {
    await dir.close();
  }
}

/**
 * The name server's KV config (RocketMQ's KVConfigManager): namespace → key → value. With a path, every change is
 * written to disk before it becomes visible and before the caller's promise resolves; changes run one at a time.
 */
export class KvConfigManager {
  private readonly kvConfigPath: string | null;
  private readonly logger: Logger;
  private table: ConfigTable = new Map();
  /** The tail of the change queue; never rejects. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(options: KvConfigManagerOptions) {
    this.kvConfigPath = options.kvConfigPath;
    this.logger = options.logger ?? silentLogger;
  }

  /** Loads the persisted table (a missing file is an empty table). Throws KvConfigPersistError for a bad file. */
  async load(): Promise<void> {
    const path = this.kvConfigPath;
    if (path === null) return;
    await mkdir(dirname(path), { recursive: true });
    // A leftover tmp file is a write that never got renamed: the file itself is the last committed table.
    await rm(`${path}.tmp`, { force: true });
    let text: Buffer;
    try {
      text = await readFile(path);
    } catch (error) {
      if (errorCode(error) === 'ENOENT') {
        this.logger.info(`namesrv: no KV config at ${path}, starting empty`, { kvConfigPath: path });
        return;
      }
      throw new KvConfigPersistError(`cannot read KV config ${path}: ${(error as Error).message}`, { cause: error });
    }
    let parsed: ReturnType<typeof KvConfigFile.decode>;
    try {
      parsed = KvConfigFile.decode(text);
    } catch (error) {
      throw new KvConfigPersistError(`KV config ${path} is not valid: ${(error as Error).message}`, { cause: error });
    }
    this.table = new Map(Object.entries(parsed.configTable).map(([namespace, entries]) => [namespace, new Map(Object.entries(entries))]));
    this.logger.info(`namesrv: loaded KV config from ${path}`, { kvConfigPath: path, namespaces: this.table.size });
  }

  get(namespace: string, key: string): string | undefined {
    return this.table.get(namespace)?.get(key);
  }

  /** The entries of a namespace (keys sorted), or null when it has none. */
  getNamespace(namespace: string): Record<string, string> | null {
    const entries = this.table.get(namespace);
    return entries === undefined || entries.size === 0 ? null : toRecord(entries);
  }

  /** The whole table, namespaces and keys sorted. */
  snapshot(): Record<string, Record<string, string>> {
    const namespaces = [...this.table.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    return Object.fromEntries(namespaces.map((namespace) => [namespace, toRecord(this.table.get(namespace)!)]));
  }

  /** PUT_KV_CONFIG. Resolves once persisted. */
  put(namespace: string, key: string, value: string): Promise<void> {
    return this.change((table) => {
      let entries = table.get(namespace);
      if (entries === undefined) {
        entries = new Map();
        table.set(namespace, entries);
      }
      if (entries.get(key) === value) return false;
      entries.set(key, value);
      this.logger.info(`namesrv: KV config put ${namespace}/${key}`, { namespace, key, value });
      return true;
    }).then(() => undefined);
  }

  /** DELETE_KV_CONFIG. Resolves (true if the key existed) once persisted. */
  delete(namespace: string, key: string): Promise<boolean> {
    return this.change((table) => {
      const entries = table.get(namespace);
      if (entries === undefined || !entries.delete(key)) return false;
      if (entries.size === 0) table.delete(namespace);
      this.logger.info(`namesrv: KV config delete ${namespace}/${key}`, { namespace, key });
      return true;
    });
  }

  /** Resolves once every change queued so far has settled. */
  async flush(): Promise<void> {
    await this.queue;
  }

  /**
   * Applies `mutate` to a copy of the table, persists the copy and only then makes it current, so a failed write
   * changes nothing. `mutate` returns false when it changed nothing (no write).
   */
  private change(mutate: (table: ConfigTable) => boolean): Promise<boolean> {
    const run = async (): Promise<boolean> => {
      const next = cloneTable(this.table);
      if (!mutate(next)) return false;
      if (this.kvConfigPath !== null) await this.persist(this.kvConfigPath, next);
      this.table = next;
      return true;
    };
    const result = this.queue.then(run);
    this.queue = result.catch(() => undefined);
    return result;
  }

  private async persist(path: string, table: ConfigTable): Promise<void> {
    const configTable = Object.fromEntries([...table].map(([namespace, entries]) => [namespace, Object.fromEntries(entries)]));
    try {
      await writeFileAtomically(path, KvConfigFile.encode({ configTable }));
    } catch (error) {
      this.logger.error(`namesrv: cannot persist KV config to ${path}: ${(error as Error).message}`, { kvConfigPath: path });
      throw new KvConfigPersistError(`cannot persist KV config to ${path}: ${(error as Error).message}`, { cause: error });
    }
  }
}
