import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/*
 * Real `tern` processes for integration tests: spawned with node on 127.0.0.1, port 0 (unless a fixed port is asked
 * for), in temporary data directories. Every process started here is tracked; `cleanupAll()` (and, as a last
 * resort, the test process's own exit) kills whatever is still running and removes the temporary directories.
 */

/** The `tern` executable (packages/cli/bin/tern.js); TERN_BIN overrides it. */
export const TERN_BIN: string = process.env.TERN_BIN ?? fileURLToPath(new URL('../../../cli/bin/tern.js', import.meta.url));

/** Broker keys the testkit sets unless told otherwise: small CommitLog segments (and a message size that fits them). */
export const TEST_BROKER_DEFAULTS: Readonly<Record<string, string>> = Object.freeze({
  mappedFileSizeCommitLog: String(1024 * 1024),
  maxMessageSize: String(256 * 1024),
});

export type ConfigValues = Record<string, string | number | boolean>;
export type TernRole = 'namesrv' | 'broker' | 'all-in-one';

export interface ExitInfo {
  /** Exit code, or null when a signal ended the process. */
  code: number | null;
  signal: NodeJS.Signals | null;
  /** From the signal (stop/kill) to the exit; for an exit nobody asked for, 0. */
  elapsedMs: number;
  /** stop() gave up waiting and used SIGKILL. */
  timedOut: boolean;
}

interface CommonOptions {
  /** Deadline for the READY line. @defaultValue 15000 */
  readyTimeoutMs?: number;
  /** Extra environment (NAMESRV_ADDR from the test's own environment is never inherited). */
  env?: Record<string, string>;
  /** Appended to the command line. */
  extraArgs?: string[];
}

export interface NamesrvOptions extends CommonOptions {
  /** Fixed port (kept across restarts); default 0 = any free port. */
  port?: number;
  /** `--broker-expiry-ms`. */
  brokerExpiryMs?: number;
}

export interface BrokerOptions extends CommonOptions {
  /** Name server address(es); joined with ";" for `-n`. None: the broker registers nowhere. */
  namesrv?: string | string[];
  /** Fixed listen port (kept across restarts); default 0. */
  port?: number;
  /** Use this data directory (not removed by cleanup); default a new temporary one (removed by cleanup). */
  dataDir?: string;
  /** broker.conf file for `-c`. */
  configFile?: string;
  /** broker.conf keys passed as `--set key=value`, over TEST_BROKER_DEFAULTS. */
  config?: ConfigValues;
  /** Apply TEST_BROKER_DEFAULTS. @defaultValue true */
  testDefaults?: boolean;
}

export interface AllInOneOptions extends CommonOptions {
  namesrvPort?: number;
  port?: number;
  dataDir?: string;
  configFile?: string;
  config?: ConfigValues;
  /** @defaultValue true */
  testDefaults?: boolean;
}

/** Keeps the last `maxBytes` of a stream (and how much was dropped before). */
class OutputTail {
  private chunks: string[] = [];
  private bytes = 0;
  dropped = 0;
  constructor(private readonly maxBytes: number) {}

  push(text: string): void {
    this.chunks.push(text);
    this.bytes += text.length;
    // Bounded: each pass removes one chunk.
    while (this.bytes > this.maxBytes && this.chunks.length > 1) {
      const first = this.chunks.shift()!;
      this.bytes -= first.length;
      this.dropped += first.length;
    }
  }

  get text(): string {
    return this.chunks.join('');
  }
}

const OUTPUT_TAIL_BYTES = 512 * 1024;
/** Processes whose child may still run (for the exit hook). */
const live = new Set<TernProcess>();
/** Every handle not cleaned up yet (running or not: their temporary directories are still there). */
const tracked = new Set<TernProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // Last resort if a test forgot its cleanup or crashed: never leave a server behind.
  process.on('exit', () => {
    for (const handle of live) handle.killNow();
  });
}

/** Parses `READY namesrv=a:1 broker=b:2` into { namesrv: 'a:1', broker: 'b:2' }. */
export function parseReadyLine(line: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of line.trim().split(/\s+/).slice(1)) {
    const at = item.indexOf('=');
    if (at > 0) out[item.slice(0, at)] = item.slice(at + 1);
  }
  return out;
}

function tail(text: string, maxChars = 4000): string {
  return text.length > maxChars ? `…${text.slice(-maxChars)}` : text;
}

interface Run {
  child: ChildProcess;
  stdout: OutputTail;
  stderr: OutputTail;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  exited: { code: number | null; signal: NodeJS.Signals | null } | null;
  closed: Promise<void>;
}

/**
 * A running (or stopped) tern process. `restart()` starts the same command again on the same data directory; with
 * port 0 the new process gets new ports (read `address` again).
 */
export class TernProcess {
  /** "host:port" of the process's main listener: the name server's for namesrv, the broker's otherwise. */
  address = '';
  namesrvAddress: string | null = null;
  brokerAddress: string | null = null;
  pid = 0;
  /** From spawn to the READY line, for the latest start. */
  readyMs = 0;
  /** Starts so far (1 after the first). */
  starts = 0;
  /** stdout/stderr of earlier runs (before restarts), oldest first. */
  readonly previousRuns: Array<{ stdout: string; stderr: string; exit: ExitInfo | null }> = [];
  private run: Run | null = null;
  private lastExit: ExitInfo | null = null;
  private cleanedUp = false;

  constructor(
    readonly role: TernRole,
    private readonly buildArgs: () => string[],
    /** The data directory (null for a name server). */
    readonly dataDir: string | null,
    private readonly ownsDataDir: boolean,
    private readonly env: NodeJS.ProcessEnv,
    private readonly readyTimeoutMs: number,
  ) {}

  /** The command line (after the node executable). */
  get args(): string[] {
    return [TERN_BIN, ...this.buildArgs()];
  }

  get stdout(): string {
    return this.run?.stdout.text ?? '';
  }

  get stderr(): string {
    return this.run?.stderr.text ?? '';
  }

  /** True while the current child has not exited. */
  get running(): boolean {
    return this.run !== null && this.run.exited === null;
  }

  /** Spawns the process and resolves once it printed READY; rejects (with its stderr) if it exits or times out first. */
  async start(): Promise<this> {
    if (this.cleanedUp) throw new Error(`${this.role}: start() after cleanup()`);
    if (this.running) throw new Error(`${this.role}: start() while running (pid ${this.pid})`);
    if (this.run) this.previousRuns.push({ stdout: this.run.stdout.text, stderr: this.run.stderr.text, exit: this.lastExit });
    installExitHook();
    const spawnedAt = performance.now();
    const child = spawn(process.execPath, this.args, { stdio: ['ignore', 'pipe', 'pipe'], env: this.env });
    const stdout = new OutputTail(OUTPUT_TAIL_BYTES);
    const stderr = new OutputTail(OUTPUT_TAIL_BYTES);
    child.stdout!.setEncoding('utf8');
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (text: string) => stderr.push(text));
    const run: Run = {
      child, stdout, stderr, exited: null,
      exit: new Promise((resolve) => {
        child.once('exit', (code, signal) => {
          run.exited = { code, signal };
          resolve(run.exited);
        });
        // A spawn failure emits 'error' and no 'exit'.
        child.once('error', (error) => {
          stderr.push(`spawn error: ${error.message}\n`);
          if (run.exited === null) {
            run.exited = { code: null, signal: null };
            resolve(run.exited);
          }
        });
      }),
      closed: new Promise((resolve) => child.once('close', () => resolve())),
    };
    this.run = run;
    this.lastExit = null;
    live.add(this);
    tracked.add(this);
    this.starts++;

    let pending = '';
    let ready: ((fields: Record<string, string>) => void) | null = null;
    const readyPromise = new Promise<Record<string, string>>((resolve) => (ready = resolve));
    child.stdout!.on('data', (text: string) => {
      stdout.push(text);
      if (ready === null) return;
      pending += text;
      // Bounded by the chunk: one pass per complete line.
      let newline = pending.indexOf('\n');
      while (newline >= 0 && ready !== null) {
        const line = pending.slice(0, newline);
        pending = pending.slice(newline + 1);
        if (line.startsWith('READY ')) {
          const done: (fields: Record<string, string>) => void = ready;
          ready = null;
          done(parseReadyLine(line));
        }
        newline = pending.indexOf('\n');
      }
      if (pending.length > 64 * 1024) pending = pending.slice(-1024);
    });

    let timer: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([
      readyPromise.then((fields) => ({ kind: 'ready' as const, fields })),
      run.exit.then((exit) => ({ kind: 'exit' as const, exit })),
      new Promise<{ kind: 'timeout' }>((resolve) => {
        timer = setTimeout(() => resolve({ kind: 'timeout' }), this.readyTimeoutMs);
      }),
    ]);
    clearTimeout(timer);
    if (outcome.kind !== 'ready') {
      if (outcome.kind === 'timeout') {
        child.kill('SIGKILL');
        await run.exit;
      }
      await Promise.race([run.closed, new Promise((resolve) => setTimeout(resolve, 500))]);
      live.delete(this);
      const how = outcome.kind === 'timeout'
        ? `printed no READY line within ${this.readyTimeoutMs} ms (killed)`
        : `exited before READY (code ${outcome.exit.code}, signal ${outcome.exit.signal})`;
      throw new Error(`tern ${this.role} ${how}\ncommand: ${process.execPath} ${this.args.join(' ')}\n`
        + `stderr:\n${tail(stderr.text)}\nstdout:\n${tail(stdout.text)}`);
    }
    this.readyMs = performance.now() - spawnedAt;
    this.pid = child.pid ?? 0;
    const { namesrv, broker } = outcome.fields;
    this.namesrvAddress = namesrv ?? null;
    this.brokerAddress = broker ?? null;
    this.address = (this.role === 'namesrv' ? namesrv : broker) ?? '';
    if (this.address === '') throw new Error(`tern ${this.role}: READY line without the expected address: ${JSON.stringify(outcome.fields)}`);
    return this;
  }

  /** SIGTERM, then waits for the exit (SIGKILL after `timeoutMs`, reported as timedOut). */
  async stop(timeoutMs = 15_000): Promise<ExitInfo> {
    return this.terminate('SIGTERM', timeoutMs, true);
  }

  /** Sends `signal` (default SIGKILL) and waits for the exit; throws if the process is still there after `timeoutMs`. */
  async kill(signal: NodeJS.Signals = 'SIGKILL', timeoutMs = 10_000): Promise<ExitInfo> {
    return this.terminate(signal, timeoutMs, false);
  }

  /** Sends a signal without waiting (SIGSTOP, SIGCONT...). */
  signal(signal: NodeJS.Signals): void {
    if (!this.running) throw new Error(`${this.role}: signal(${signal}) but the process is not running`);
    this.run!.child.kill(signal);
  }

  /** Waits for the current process to exit by itself (or rejects after `timeoutMs`). */
  async waitForExit(timeoutMs: number): Promise<ExitInfo> {
    const run = this.run;
    if (run === null) throw new Error(`${this.role}: never started`);
    let timer: NodeJS.Timeout | undefined;
    const exited = await Promise.race([
      run.exit,
      new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), timeoutMs))),
    ]);
    clearTimeout(timer);
    if (exited === null) throw new Error(`tern ${this.role} (pid ${this.pid}) did not exit within ${timeoutMs} ms`);
    return this.finish(exited, 0, false);
  }

  /** Stops the current process if it runs (SIGTERM), then starts the same command on the same data directory. */
  async restart(): Promise<this> {
    if (this.running) await this.stop();
    return this.start();
  }

  /** Kills the process if it still runs (SIGKILL) and removes the temporary data directory. Idempotent. */
  async cleanup(): Promise<void> {
    if (this.running) await this.kill('SIGKILL').catch(() => undefined);
    live.delete(this);
    tracked.delete(this);
    if (this.cleanedUp) return;
    this.cleanedUp = true;
    if (this.ownsDataDir && this.dataDir !== null) await rm(this.dataDir, { recursive: true, force: true, maxRetries: 3 });
  }

  /** Synchronous SIGKILL, for the process exit hook. */
  killNow(): void {
    if (this.running) {
      try {
        this.run!.child.kill('SIGKILL');
      } catch {
        // already gone
      }
    }
  }

  private async terminate(signal: NodeJS.Signals, timeoutMs: number, escalate: boolean): Promise<ExitInfo> {
    const run = this.run;
    if (run === null) throw new Error(`${this.role}: never started`);
    if (run.exited !== null) return this.lastExit ?? this.finish(run.exited, 0, false);
    const sentAt = performance.now();
    run.child.kill(signal);
    let timer: NodeJS.Timeout | undefined;
    let exited = await Promise.race([
      run.exit,
      new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), timeoutMs))),
    ]);
    clearTimeout(timer);
    let timedOut = false;
    if (exited === null) {
      if (!escalate) throw new Error(`tern ${this.role} (pid ${this.pid}) still running ${timeoutMs} ms after ${signal}`);
      timedOut = true;
      run.child.kill('SIGKILL');
      exited = await run.exit;
    }
    const elapsedMs = performance.now() - sentAt;
    // Let the pipes drain so stdout/stderr hold everything the process wrote.
    await Promise.race([run.closed, new Promise((resolve) => setTimeout(resolve, 1_000))]);
    return this.finish(exited, elapsedMs, timedOut);
  }

  private finish(exited: { code: number | null; signal: NodeJS.Signals | null }, elapsedMs: number, timedOut: boolean): ExitInfo {
    live.delete(this);
    this.lastExit = { code: exited.code, signal: exited.signal, elapsedMs, timedOut };
    return this.lastExit;
  }
}

function childEnv(extra: Record<string, string> | undefined): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.NAMESRV_ADDR;
  env.TERN_LOG_LEVEL ??= 'info';
  return { ...env, ...extra };
}

function setArgs(values: Record<string, string | number | boolean>): string[] {
  const out: string[] = [];
  for (const [key, value] of Object.entries(values)) out.push('--set', `${key}=${String(value)}`);
  return out;
}

/** A new empty directory under os.tmpdir(). */
export async function makeTempDir(prefix = 'tern-test-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

async function dataDirFor(given: string | undefined, prefix: string): Promise<{ dir: string; owned: boolean }> {
  if (given !== undefined) return { dir: given, owned: false };
  return { dir: await makeTempDir(prefix), owned: true };
}

async function launch(handle: TernProcess): Promise<TernProcess> {
  try {
    return await handle.start();
  } catch (error) {
    await handle.cleanup();
    throw error;
  }
}

/** `tern namesrv -p 0 --host 127.0.0.1`. */
export async function startNamesrv(options: NamesrvOptions = {}): Promise<TernProcess> {
  const args = (): string[] => [
    'namesrv', '-p', String(options.port ?? 0), '--host', '127.0.0.1',
    ...(options.brokerExpiryMs !== undefined ? ['--broker-expiry-ms', String(options.brokerExpiryMs)] : []),
    ...(options.extraArgs ?? []),
  ];
  return launch(new TernProcess('namesrv', args, null, false, childEnv(options.env), options.readyTimeoutMs ?? 15_000));
}

/** `tern broker [-n NS] --listen-port 0 --data-dir DIR [-c FILE] --set k=v...`. */
export async function startBroker(options: BrokerOptions = {}): Promise<TernProcess> {
  const { dir, owned } = await dataDirFor(options.dataDir, 'tern-broker-');
  const namesrv = Array.isArray(options.namesrv) ? options.namesrv.join(';') : options.namesrv;
  const config = { ...(options.testDefaults === false ? {} : TEST_BROKER_DEFAULTS), ...(options.config ?? {}) };
  const args = (): string[] => [
    'broker',
    ...(namesrv !== undefined ? ['-n', namesrv] : []),
    '--listen-port', String(options.port ?? 0), '--data-dir', dir,
    ...(options.configFile !== undefined ? ['-c', options.configFile] : []),
    ...setArgs(config),
    ...(options.extraArgs ?? []),
  ];
  return launch(new TernProcess('broker', args, dir, owned, childEnv(options.env), options.readyTimeoutMs ?? 15_000));
}

/** `tern start --namesrv-port 0 --listen-port 0 --data-dir DIR`: a name server and a broker in one process. */
export async function startAllInOne(options: AllInOneOptions = {}): Promise<TernProcess> {
  const { dir, owned } = await dataDirFor(options.dataDir, 'tern-start-');
  const config = { ...(options.testDefaults === false ? {} : TEST_BROKER_DEFAULTS), ...(options.config ?? {}) };
  const args = (): string[] => [
    'start', '--namesrv-port', String(options.namesrvPort ?? 0), '--listen-port', String(options.port ?? 0), '--data-dir', dir,
    ...(options.configFile !== undefined ? ['-c', options.configFile] : []),
    ...setArgs(config),
    ...(options.extraArgs ?? []),
  ];
  return launch(new TernProcess('all-in-one', args, dir, owned, childEnv(options.env), options.readyTimeoutMs ?? 15_000));
}

/** Processes started through this module that have not exited or been cleaned up. */
export function liveProcesses(): TernProcess[] {
  return [...live];
}

/** Cleans up every handle this module still tracks: kills what runs, removes temporary directories. */
export async function cleanupAll(): Promise<void> {
  await Promise.all([...tracked].map((handle) => handle.cleanup()));
}

/** True if the tern executable has been built (dist present). */
export function ternBuilt(): boolean {
  return existsSync(fileURLToPath(new URL('../../../cli/dist/src/main.js', import.meta.url)));
}
