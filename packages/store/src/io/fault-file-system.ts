import { constants as osConstants } from 'node:os';
import { basename, dirname, resolve } from 'node:path';
import type { DiskUsage, FileSystem, OpenOptions, StoreFile } from './file-system.js';

/**
 * A FileSystem for crash tests: wraps a real one, remembers everything that was never made durable (fdatasync for
 * file data, fsyncDir for directory entries) and on `crash()` rewrites the real files to what a power loss could
 * leave behind. It also injects EIO/ENOSPC and fakes disk usage.
 *
 * Simplifications: mkdirp and rmdir are durable at once; a cross-directory rename becomes durable when either parent
 * is fsynced (one journal commit on ext4); files are serialised per inode for writes and truncates so the undo log
 * reads consistent "before" bytes.
 */

export type FaultOp = 'write' | 'datasync' | 'open' | 'truncate' | 'rename' | 'unlink' | 'fsyncDir' | 'read';

export interface FailNextOptions {
  /** How many matching calls fail (default 1). */
  count?: number;
  /** Only calls whose path (either path for rename) contains this string. */
  pathIncludes?: string;
}

export interface CrashOptions {
  /**
   * drop: volatile writes vanish; torn: a random prefix of them survives; zero: what they appended reads as zeros
   * (delayed allocation), while overwritten durable bytes keep their old content.
   */
  mode?: 'drop' | 'torn' | 'zero';
  /** Keep un-fsynced creates, renames and unlinks instead of reverting them. */
  keepUnsyncedDirEntries?: boolean;
  /** Source of randomness for torn mode, in [0, 1). */
  random?: () => number;
}

export interface CrashSummary {
  /** Distinct paths whose data was rolled back or whose directory entry was reverted. */
  filesTouched: number;
  /** Bytes of volatile writes that did not survive as written (zeroed bytes count as dropped). */
  bytesDropped: number;
}

export interface FaultStats {
  writes: number;
  datasyncs: number;
  fsyncDirs: number;
  bytesWritten: number;
}

type UndoEntry =
  | { kind: 'write'; position: number; data: Buffer; oldBytes: Buffer; oldSizeBytes: number; done: boolean }
  | { kind: 'truncate'; lengthBytes: number; oldSizeBytes: number; removedBytes: Buffer; done: boolean };

/** One inode: its volatile history follows it through renames. */
interface FileNode {
  path: string;
  undo: UndoEntry[];
  /** Tail of the per-inode queue of writes and truncates. */
  lock: Promise<void>;
}

/**
 * Un-fsynced directory changes. Removed files are parked under an orphan name (hidden from readdir) instead of being
 * deleted, so reverting is a rename and torn/zero crashes apply to them like to any file.
 */
type DirChange = { dirs: string[] } & (
  | { kind: 'create'; path: string }
  | { kind: 'rename'; fromPath: string; toPath: string; orphanPath: string | null }
  | { kind: 'unlink'; path: string; orphanPath: string }
);

const ORPHAN_PREFIX = '.faultfs-orphan-';
const SYSCALLS: Partial<Record<FaultOp, string>> = { datasync: 'fdatasync', truncate: 'ftruncate', fsyncDir: 'fsync' };

export function faultError(code: string, syscall: string, path: string): NodeJS.ErrnoException {
  const err: NodeJS.ErrnoException = new Error(`${code}: injected fault, ${syscall} '${path}'`);
  err.code = code;
  const errno = (osConstants.errno as Record<string, number | undefined>)[code];
  if (errno !== undefined) err.errno = -errno;
  err.syscall = syscall;
  err.path = path;
  return err;
}

function ignoreNotFound(err: unknown): void {
  if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
}

async function readRange(file: StoreFile, position: number, lengthBytes: number): Promise<Buffer> {
  const data = Buffer.alloc(Math.max(0, lengthBytes));
  let readBytes = 0;
  while (readBytes < data.length) {
    const n = await file.read(data, readBytes, data.length - readBytes, position + readBytes);
    if (n === 0) break;
    readBytes += n;
  }
  return data.subarray(0, readBytes);
}

export class FaultFileSystem implements FileSystem {
  readonly stats: FaultStats = { writes: 0, datasyncs: 0, fsyncDirs: 0, bytesWritten: 0 };
  private readonly nodes = new Map<string, FileNode>();
  private dirChanges: DirChange[] = [];
  private readonly failures: { op: FaultOp; code: string; count: number; pathIncludes: string | undefined }[] = [];
  private writeBudgetBytes: number | null = null;
  private diskUsageOverride: DiskUsage | null = null;
  private readonly openFiles = new Set<StoreFile>();
  private readonly inFlight = new Set<Promise<unknown>>();
  private crashed = false;
  private orphanCount = 0;
  private readonly instanceId = Math.random().toString(36).slice(2, 8);

  constructor(private readonly inner: FileSystem) {}

  /** The next `count` calls of `op` (matching `pathIncludes`) reject with `code` and have no effect. */
  failNext(op: FaultOp, code: string, options: FailNextOptions = {}): void {
    this.failures.push({ op, code, count: options.count ?? 1, pathIncludes: options.pathIncludes });
  }

  /**
   * After `budgetBytes` more bytes of file growth, writes reject with ENOSPC (overwrites inside a file's current size
   * are free, as on a real disk). null removes the limit.
   */
  setWriteBudgetBytes(budgetBytes: number | null): void {
    this.writeBudgetBytes = budgetBytes;
  }

  setDiskUsage(usage: DiskUsage | null): void {
    this.diskUsageOverride = usage;
  }

  open(path: string, options: OpenOptions): Promise<StoreFile> {
    return this.guard(async () => {
      const fullPath = resolve(path);
      this.injectFault('open', fullPath);
      const existed = options.create ? await this.inner.exists(fullPath) : true;
      const innerFile = await this.inner.open(fullPath, options);
      if (!existed) this.dirChanges.push({ kind: 'create', dirs: [dirname(fullPath)], path: fullPath });
      this.openFiles.add(innerFile);
      return this.wrapFile(path, innerFile, this.nodeAt(fullPath));
    });
  }

  readdir(dir: string): Promise<string[]> {
    return this.guard(async () => (await this.inner.readdir(dir)).filter((name) => !name.startsWith(ORPHAN_PREFIX)));
  }

  mkdirp(dir: string): Promise<void> {
    return this.guard(() => this.inner.mkdirp(dir));
  }

  exists(path: string): Promise<boolean> {
    return this.guard(() => this.inner.exists(path));
  }

  rename(fromPath: string, toPath: string): Promise<void> {
    return this.guard(async () => {
      const from = resolve(fromPath);
      const to = resolve(toPath);
      this.injectFault('rename', from, to);
      if (from === to) return this.inner.rename(from, to);
      let orphanPath: string | null = null;
      if (await this.inner.exists(to)) {
        // Copy rather than move the replaced file aside, so `to` never disappears for concurrent readers; the copy
        // inherits the replaced inode's undo log.
        orphanPath = this.orphanPathIn(dirname(to));
        await this.copyFile(to, orphanPath);
      }
      try {
        await this.inner.rename(from, to);
      } catch (err) {
        if (orphanPath !== null) await this.inner.unlink(orphanPath).catch(() => undefined);
        throw err;
      }
      this.moveNode(to, orphanPath);
      this.moveNode(from, to);
      const dirs = [...new Set([dirname(from), dirname(to)])];
      this.dirChanges.push({ kind: 'rename', dirs, fromPath: from, toPath: to, orphanPath });
    });
  }

  unlink(path: string): Promise<void> {
    return this.guard(async () => {
      const fullPath = resolve(path);
      this.injectFault('unlink', fullPath);
      const orphanPath = this.orphanPathIn(dirname(fullPath));
      await this.inner.rename(fullPath, orphanPath);
      this.moveNode(fullPath, orphanPath);
      this.dirChanges.push({ kind: 'unlink', dirs: [dirname(fullPath)], path: fullPath, orphanPath });
    });
  }

  rmdir(dir: string): Promise<void> {
    return this.guard(async () => {
      const fullDir = resolve(dir);
      // Parked orphans would make the directory non-empty; removing the directory makes their unlinks final anyway.
      const inDir = this.dirChanges.filter(
        (c) => c.kind !== 'create' && c.orphanPath !== null && dirname(c.orphanPath) === fullDir,
      );
      await this.makeDurable(inDir);
      await this.inner.rmdir(fullDir);
    });
  }

  fsyncDir(dir: string): Promise<void> {
    return this.guard(async () => {
      const fullDir = resolve(dir);
      this.injectFault('fsyncDir', fullDir);
      // Only changes made before the call are covered, as with a real fsync.
      const covered = this.dirChanges.filter((c) => c.dirs.includes(fullDir));
      await this.inner.fsyncDir(fullDir);
      this.stats.fsyncDirs++;
      await this.makeDurable(covered);
    });
  }

  diskUsage(path: string): Promise<DiskUsage> {
    return this.guard(async () => this.diskUsageOverride ?? (await this.inner.diskUsage(path)));
  }

  /**
   * Simulates power loss: waits for calls in flight, rewrites the real files to a possible surviving image, and
   * leaves this instance permanently failing with ECRASHED.
   */
  async crash(options: CrashOptions = {}): Promise<CrashSummary> {
    if (this.crashed) throw faultError('ECRASHED', 'crash', '');
    this.crashed = true;
    await Promise.allSettled([...this.inFlight]);
    await Promise.allSettled([...this.openFiles].map((file) => file.close()));
    this.openFiles.clear();
    const touchedPaths = new Set<string>();
    let bytesDropped = 0;
    for (const node of this.nodes.values()) {
      if (node.undo.length === 0) continue;
      // A parked file is counted under its real name when its unlink or rename is reverted.
      if (!basename(node.path).startsWith(ORPHAN_PREFIX)) touchedPaths.add(node.path);
      bytesDropped += await this.restoreNode(node, options.mode ?? 'drop', options.random ?? Math.random);
    }
    if (options.keepUnsyncedDirEntries) {
      await this.makeDurable(this.dirChanges);
    } else {
      for (const change of this.dirChanges.reverse()) await this.revertDirChange(change, touchedPaths);
    }
    this.dirChanges = [];
    this.nodes.clear();
    return { filesTouched: touchedPaths.size, bytesDropped };
  }

  private wrapFile(path: string, inner: StoreFile, node: FileNode): StoreFile {
    return {
      path,
      write: (data, position) =>
        this.guard(() => this.serialized(node, () => this.writeFile(inner, node, data, position))),
      read: (target, targetOffset, length, position) =>
        this.guard(() => {
          this.injectFault('read', node.path);
          return inner.read(target, targetOffset, length, position);
        }),
      readNow: (target, targetOffset, length, position) => {
        if (this.crashed) throw faultError('ECRASHED', 'call', '');
        this.injectFault('read', node.path);
        return inner.readNow(target, targetOffset, length, position);
      },
      datasync: () => this.guard(() => this.datasyncFile(inner, node)),
      truncate: (lengthBytes) =>
        this.guard(() => this.serialized(node, () => this.truncateFile(inner, node, lengthBytes))),
      sizeBytes: () => this.guard(() => inner.sizeBytes()),
      close: () =>
        this.guard(async () => {
          this.openFiles.delete(inner);
          await inner.close();
        }),
    };
  }

  private async writeFile(inner: StoreFile, node: FileNode, data: Uint8Array, position: number): Promise<void> {
    this.injectFault('write', node.path);
    const oldSizeBytes = await inner.sizeBytes();
    const growthBytes = Math.max(0, position + data.length - oldSizeBytes);
    if (this.writeBudgetBytes !== null) {
      if (growthBytes > this.writeBudgetBytes) throw faultError('ENOSPC', 'write', node.path);
      this.writeBudgetBytes -= growthBytes;
    }
    const oldBytes = await readRange(inner, position, Math.min(data.length, oldSizeBytes - position));
    // Copied because callers reuse their buffers and torn mode replays the data.
    const entry: UndoEntry = { kind: 'write', position, data: Buffer.from(data), oldBytes, oldSizeBytes, done: false };
    node.undo.push(entry);
    try {
      await inner.write(data, position);
    } finally {
      entry.done = true;
    }
    this.stats.writes++;
    this.stats.bytesWritten += data.length;
  }

  private async truncateFile(inner: StoreFile, node: FileNode, lengthBytes: number): Promise<void> {
    this.injectFault('truncate', node.path);
    const oldSizeBytes = await inner.sizeBytes();
    const removedBytes = await readRange(inner, lengthBytes, oldSizeBytes - lengthBytes);
    const entry: UndoEntry = { kind: 'truncate', lengthBytes, oldSizeBytes, removedBytes, done: false };
    node.undo.push(entry);
    try {
      await inner.truncate(lengthBytes);
    } finally {
      entry.done = true;
    }
  }

  private async datasyncFile(inner: StoreFile, node: FileNode): Promise<void> {
    this.injectFault('datasync', node.path);
    // A write still in flight when fdatasync starts is not covered by it.
    const covered = new Set(node.undo.filter((entry) => entry.done));
    await inner.datasync();
    this.stats.datasyncs++;
    node.undo = node.undo.filter((entry) => !covered.has(entry));
  }

  /** Undoes the node's volatile history, then replays what the mode lets survive; returns bytes lost. */
  private async restoreNode(node: FileNode, mode: 'drop' | 'torn' | 'zero', random: () => number): Promise<number> {
    let file: StoreFile;
    try {
      file = await this.inner.open(node.path, { create: false });
    } catch (err) {
      ignoreNotFound(err); // its directory was removed
      return 0;
    }
    try {
      for (const entry of [...node.undo].reverse()) {
        if (entry.kind === 'write') {
          if (entry.oldBytes.length > 0) await file.write(entry.oldBytes, entry.position);
          await file.truncate(entry.oldSizeBytes);
        } else {
          await file.truncate(entry.oldSizeBytes);
          if (entry.removedBytes.length > 0) await file.write(entry.removedBytes, entry.lengthBytes);
        }
      }
      const volatileBytes = node.undo.reduce((sum, e) => sum + (e.kind === 'write' ? e.data.length : 0), 0);
      const durableSizeBytes = node.undo[0]?.oldSizeBytes ?? 0;
      if (mode === 'drop') return volatileBytes;
      let survivingBytes = 0;
      const keptOps = mode === 'torn' ? Math.floor(random() * (node.undo.length + 1)) : node.undo.length;
      for (const [index, entry] of node.undo.entries()) {
        if (entry.kind === 'truncate') {
          if (index < keptOps) await file.truncate(entry.lengthBytes);
        } else if (mode === 'zero') {
          // Delayed allocation zero-fills blocks a file grew into; an overwrite of bytes that were already durable
          // leaves the old bytes (ext4/XFS do not zero allocated blocks), which the undo above restored.
          const zeroFrom = Math.max(entry.position, durableSizeBytes);
          const zeroTo = entry.position + entry.data.length;
          if (zeroTo > zeroFrom) await file.write(Buffer.alloc(zeroTo - zeroFrom), zeroFrom);
        } else {
          let prefixBytes = 0;
          if (index < keptOps) prefixBytes = entry.data.length;
          else if (index === keptOps) prefixBytes = Math.floor(random() * entry.data.length);
          if (prefixBytes > 0) await file.write(entry.data.subarray(0, prefixBytes), entry.position);
          survivingBytes += prefixBytes;
        }
      }
      return volatileBytes - survivingBytes;
    } finally {
      await file.close();
    }
  }

  private async revertDirChange(change: DirChange, touchedPaths: Set<string>): Promise<void> {
    if (change.kind === 'create') {
      touchedPaths.add(change.path);
      await this.inner.unlink(change.path).catch(ignoreNotFound);
    } else if (change.kind === 'unlink') {
      touchedPaths.add(change.path);
      await this.inner.rename(change.orphanPath, change.path).catch(ignoreNotFound);
    } else {
      touchedPaths.add(change.fromPath).add(change.toPath);
      await this.inner.rename(change.toPath, change.fromPath).catch(ignoreNotFound);
      if (change.orphanPath !== null) await this.inner.rename(change.orphanPath, change.toPath).catch(ignoreNotFound);
    }
  }

  /** Forgets the changes (they survive a crash) and deletes the files they replaced or unlinked. */
  private async makeDurable(changes: DirChange[]): Promise<void> {
    const durable = new Set(changes);
    this.dirChanges = this.dirChanges.filter((c) => !durable.has(c));
    for (const change of changes) {
      if (change.kind === 'create' || change.orphanPath === null) continue;
      await this.inner.unlink(change.orphanPath).catch(ignoreNotFound);
      this.nodes.delete(change.orphanPath);
    }
  }

  private async copyFile(fromPath: string, toPath: string): Promise<void> {
    const source = await this.inner.open(fromPath, { create: false, readOnly: true });
    try {
      const data = await readRange(source, 0, await source.sizeBytes());
      const target = await this.inner.open(toPath, { create: true });
      try {
        await target.write(data, 0);
      } finally {
        await target.close();
      }
    } finally {
      await source.close();
    }
  }

  private nodeAt(fullPath: string): FileNode {
    let node = this.nodes.get(fullPath);
    if (node === undefined) {
      node = { path: fullPath, undo: [], lock: Promise.resolve() };
      this.nodes.set(fullPath, node);
    }
    return node;
  }

  private moveNode(fromPath: string, toPath: string | null): void {
    const node = this.nodes.get(fromPath);
    if (node === undefined) return;
    this.nodes.delete(fromPath);
    if (toPath === null) return;
    node.path = toPath;
    this.nodes.set(toPath, node);
  }

  private orphanPathIn(dir: string): string {
    return resolve(dir, `${ORPHAN_PREFIX}${this.instanceId}-${++this.orphanCount}`);
  }

  private serialized<T>(node: FileNode, fn: () => Promise<T>): Promise<T> {
    const result = node.lock.then(() => {
      if (this.crashed) throw faultError('ECRASHED', 'write', node.path);
      return fn();
    });
    const settle = (): void => undefined;
    node.lock = result.then(settle, settle);
    return result;
  }

  private injectFault(op: FaultOp, ...paths: string[]): void {
    const index = this.failures.findIndex(
      (f) => f.op === op && (f.pathIncludes === undefined || paths.some((p) => p.includes(f.pathIncludes ?? ''))),
    );
    const failure = this.failures[index];
    if (failure === undefined) return;
    if (--failure.count <= 0) this.failures.splice(index, 1);
    throw faultError(failure.code, SYSCALLS[op] ?? op, paths[0] ?? '');
  }

  /** Rejects once crashed, and lets crash() wait for calls in flight so none lands after the image is restored. */
  private guard<T>(fn: () => Promise<T>): Promise<T> {
    if (this.crashed) return Promise.reject(faultError('ECRASHED', 'call', ''));
    const pending = Promise.resolve().then(() => {
      if (this.crashed) throw faultError('ECRASHED', 'call', '');
      return fn();
    });
    const settle = (): void => undefined;
    const settled = pending.then(settle, settle);
    this.inFlight.add(settled);
    void settled.then(() => this.inFlight.delete(settled));
    return pending.then(
      (value) => {
        if (this.crashed) throw faultError('ECRASHED', 'call', '');
        return value;
      },
      (err: unknown) => {
        throw this.crashed ? faultError('ECRASHED', 'call', '') : err;
      },
    );
  }
}
