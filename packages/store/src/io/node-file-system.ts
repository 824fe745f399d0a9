import * as fs from 'node:fs';
import type { DiskUsage, FileSystem, OpenOptions, StoreFile } from './file-system.js';

/** The production FileSystem: node:fs callbacks (cheaper than fs/promises on the hot path), positioned I/O. */
export class NodeFileSystem implements FileSystem {
  async open(path: string, options: OpenOptions): Promise<StoreFile> {
    const flags = options.readOnly ? 'r' : options.create ? fs.constants.O_RDWR | fs.constants.O_CREAT : 'r+';
    const fd = await new Promise<number>((resolve, reject) =>
      fs.open(path, flags, 0o644, (err, fd) => (err ? reject(err) : resolve(fd))),
    );
    return new NodeStoreFile(path, fd);
  }

  async readdir(dir: string): Promise<string[]> {
    try {
      return (await fs.promises.readdir(dir)).sort();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
  }

  async mkdirp(dir: string): Promise<void> {
    await fs.promises.mkdir(dir, { recursive: true });
  }

  async exists(path: string): Promise<boolean> {
    try {
      await fs.promises.stat(path);
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw err;
    }
  }

  async rename(fromPath: string, toPath: string): Promise<void> {
    await fs.promises.rename(fromPath, toPath);
  }

  async unlink(path: string): Promise<void> {
    await fs.promises.unlink(path);
  }

  async rmdir(dir: string): Promise<void> {
    await fs.promises.rmdir(dir);
  }

  async fsyncDir(dir: string): Promise<void> {
    const handle = await fs.promises.open(dir, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  }

  async diskUsage(path: string): Promise<DiskUsage> {
    const stats = await fs.promises.statfs(path);
    return { totalBytes: stats.blocks * stats.bsize, freeBytes: stats.bavail * stats.bsize };
  }
}

class NodeStoreFile implements StoreFile {
  constructor(
    readonly path: string,
    private readonly fd: number,
  ) {}

  write(data: Uint8Array, position: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const writeFrom = (written: number): void => {
        fs.write(this.fd, data, written, data.length - written, position + written, (err, n) => {
          if (err) return reject(err);
          if (written + n < data.length) return writeFrom(written + n);
          resolve();
        });
      };
      writeFrom(0);
    });
  }

  read(target: Uint8Array, targetOffset: number, length: number, position: number): Promise<number> {
    if (process.env.TERN_EXP_SYNC_READ) { try { return Promise.resolve(fs.readSync(this.fd, target, targetOffset, length, position)); } catch (e) { return Promise.reject(e); } }
    return new Promise((resolve, reject) =>
      fs.read(this.fd, target, targetOffset, length, position, (err, n) => (err ? reject(err) : resolve(n))),
    );
  }

  readNow(target: Uint8Array, targetOffset: number, length: number, position: number): number {
    return fs.readSync(this.fd, target, targetOffset, length, position);
  }

  datasync(): Promise<void> {
    return new Promise((resolve, reject) => fs.fdatasync(this.fd, (err) => (err ? reject(err) : resolve())));
  }

  truncate(lengthBytes: number): Promise<void> {
    return new Promise((resolve, reject) =>
      fs.ftruncate(this.fd, lengthBytes, (err) => (err ? reject(err) : resolve())),
    );
  }

  sizeBytes(): Promise<number> {
    return new Promise((resolve, reject) => fs.fstat(this.fd, (err, st) => (err ? reject(err) : resolve(st.size))));
  }

  close(): Promise<void> {
    return new Promise((resolve, reject) => fs.close(this.fd, (err) => (err ? reject(err) : resolve())));
  }
}
