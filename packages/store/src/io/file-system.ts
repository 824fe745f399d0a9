/**
 * Every byte the store reads or writes goes through these two interfaces, so tests can inject EIO and ENOSPC and
 * simulate power loss (drop what was never fdatasynced) in-process, without root. Production uses NodeFileSystem.
 *
 * Errors are Node-style: an Error with a `code` string ('ENOENT', 'EIO', 'ENOSPC', ...).
 */
export interface StoreFile {
  readonly path: string;
  /** Writes all of `data` at `position` (a positioned write; never a short write). */
  write(data: Uint8Array, position: number): Promise<void>;
  /** Reads up to `length` bytes at `position` into `target` at `targetOffset`; returns the count read (short at EOF). */
  read(target: Uint8Array, targetOffset: number, length: number, position: number): Promise<number>;
  /**
   * `read` done synchronously on the calling thread: for bytes the caller knows are in the page cache, where a
   * memory copy is cheaper than the thread-pool round trip of `read`. Throws like `read` rejects.
   */
  readNow(target: Uint8Array, targetOffset: number, length: number, position: number): number;
  /** Makes every write that completed before this call durable (fdatasync). */
  datasync(): Promise<void>;
  /** Sets the file length; bytes past it are gone, new bytes read as zero. */
  truncate(lengthBytes: number): Promise<void>;
  sizeBytes(): Promise<number>;
  close(): Promise<void>;
}

export interface OpenOptions {
  /** Create the file when missing (its directory entry is durable only after fsyncDir of the parent). */
  create: boolean;
  readOnly?: boolean;
}

export interface DiskUsage {
  totalBytes: number;
  freeBytes: number;
}

export interface FileSystem {
  open(path: string, options: OpenOptions): Promise<StoreFile>;
  /** Names in `dir`, sorted; [] when `dir` does not exist. */
  readdir(dir: string): Promise<string[]>;
  /** Creates `dir` and its parents; a no-op when it exists. */
  mkdirp(dir: string): Promise<void>;
  exists(path: string): Promise<boolean>;
  rename(fromPath: string, toPath: string): Promise<void>;
  unlink(path: string): Promise<void>;
  /** Removes an empty directory. */
  rmdir(dir: string): Promise<void>;
  /** Makes the directory's entries (created, renamed, removed files) durable. */
  fsyncDir(dir: string): Promise<void>;
  /** Usage of the file system holding `path` (for retention watermarks). */
  diskUsage(path: string): Promise<DiskUsage>;
}

/** Writes a small file atomically and durably: temp file, fdatasync, rename, fsync of the directory. */
export async function writeFileAtomic(fs: FileSystem, path: string, data: Uint8Array): Promise<void> {
  const tempPath = `${path}.tmp`;
  const file = await fs.open(tempPath, { create: true });
  try {
    await file.truncate(0);
    await file.write(data, 0);
    await file.datasync();
  } finally {
    await file.close();
  }
  await fs.rename(tempPath, path);
  await fs.fsyncDir(dirnameOf(path));
}

/** Reads a whole small file, or null when it does not exist. */
export async function readFileOrNull(fs: FileSystem, path: string): Promise<Buffer | null> {
  if (!(await fs.exists(path))) return null;
  const file = await fs.open(path, { create: false, readOnly: true });
  try {
    const sizeBytes = await file.sizeBytes();
    const data = Buffer.alloc(sizeBytes);
    let readBytes = 0;
    while (readBytes < sizeBytes) {
      const n = await file.read(data, readBytes, sizeBytes - readBytes, readBytes);
      if (n === 0) break;
      readBytes += n;
    }
    return data.subarray(0, readBytes);
  } finally {
    await file.close();
  }
}

export function dirnameOf(path: string): string {
  const index = path.lastIndexOf('/');
  return index <= 0 ? '/' : path.slice(0, index);
}
