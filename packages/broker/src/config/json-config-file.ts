import { type FileSystem, readFileOrNull, writeFileAtomic } from '@tern/store';

/**
 * A JSON config file under storePathRootDir/config (topics.json, consumerOffset.json, ...), replaced atomically on
 * every persist so a crash leaves either the old or the new file, never half of one. Writes are serialised.
 */
export class JsonConfigFile<T> {
  private writing: Promise<void> = Promise.resolve();

  constructor(
    private readonly fs: FileSystem,
    readonly path: string,
  ) {}

  async load(decode: (json: unknown) => T): Promise<T | null> {
    const data = await readFileOrNull(this.fs, this.path);
    if (!data) return null;
    try {
      return decode(JSON.parse(data.toString('utf8')));
    } catch (error) {
      throw new Error(`${this.path} is not valid (${(error as Error).message}); fix or remove it`, { cause: error });
    }
  }

  persist(value: T): Promise<void> {
    const text = JSON.stringify(value, null, 2);
    const next = this.writing.then(async () => {
      await this.fs.mkdirp(this.path.slice(0, this.path.lastIndexOf('/')));
      await writeFileAtomic(this.fs, this.path, Buffer.from(text, 'utf8'));
    });
    this.writing = next.catch(() => undefined);
    return next;
  }
}
