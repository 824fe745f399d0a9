import { rm } from 'node:fs/promises';
import {
  type AllInOneOptions, type BrokerOptions, type NamesrvOptions, type TernProcess, makeTempDir, startAllInOne, startBroker, startNamesrv,
} from './tern-process.js';
import { TestClient } from './test-client.js';

/**
 * Everything one test (or one file) starts, cleaned up together: `const h = new Harness(); t.after(() => h.cleanup());`.
 * Processes are killed (SIGKILL) if still running, temporary directories removed, clients closed.
 */
export class Harness {
  private readonly processes: TernProcess[] = [];
  private readonly clients: TestClient[] = [];
  private readonly dirs: string[] = [];

  async namesrv(options: NamesrvOptions = {}): Promise<TernProcess> {
    return this.track(await startNamesrv(options));
  }

  async broker(options: BrokerOptions = {}): Promise<TernProcess> {
    return this.track(await startBroker(options));
  }

  async allInOne(options: AllInOneOptions = {}): Promise<TernProcess> {
    return this.track(await startAllInOne(options));
  }

  client(options: { timeoutMs?: number; connectTimeoutMs?: number } = {}): TestClient {
    const client = new TestClient(options);
    this.clients.push(client);
    return client;
  }

  /** A temporary directory removed by cleanup(). */
  async tempDir(prefix = 'tern-test-'): Promise<string> {
    const dir = await makeTempDir(prefix);
    this.dirs.push(dir);
    return dir;
  }

  async cleanup(): Promise<void> {
    await Promise.allSettled(this.clients.splice(0).map((c) => c.close()));
    await Promise.allSettled(this.processes.splice(0).map((p) => p.cleanup()));
    await Promise.allSettled(this.dirs.splice(0).map((d) => rm(d, { recursive: true, force: true, maxRetries: 3 })));
  }

  private track(handle: TernProcess): TernProcess {
    this.processes.push(handle);
    return handle;
  }
}
