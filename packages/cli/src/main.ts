import { Command, CommanderError } from 'commander';
import { Broker, type BrokerConfig, defaultBrokerConfig } from '@tern/broker';
import { TernError } from '@tern/common';
import { NameServer } from '@tern/namesrv';
import { createLogger } from './logger.js';
import { type BrokerCliOptions, resolveBrokerConfig } from './broker-options.js';
import { registerAdminCommands } from './admin/admin-commands.js';
import { registerBenchCommands } from './bench/command.js';

const STOP_DEADLINE_MS = 10_000;

/** Runs the tern command; resolves with the exit code once a server stops (or at once for one-shot commands). */
export async function main(argv: string[]): Promise<number> {
  const program = new Command('tern')
    .description('Tern: Apache RocketMQ\'s design in TypeScript. Name server, broker, and the all-in-one `start`.')
    .exitOverride()
    .showHelpAfterError();
  let run: (() => Promise<number>) | null = null;

  program.command('start')
    .description('one name server and one broker in this process (data in ./tern-data unless --data-dir)')
    .option('--data-dir <dir>', 'store root directory', './tern-data')
    .option('-c, --config <file>', 'broker.conf (RocketMQ keys)')
    .option('--host <ip>', 'address to listen on and publish', '127.0.0.1')
    .option('--namesrv-port <port>', 'name server port (0: any free port)', '9876')
    .option('--listen-port <port>', 'broker port (0: any free port)')
    .option('--set <key=value...>', 'broker.conf keys, overriding the file')
    .option('--trace', 'print one line per request and response to stderr (protocol debugging)')
    .action((options: BrokerCliOptions & { host: string; namesrvPort: string }) => {
      run = () => startAllInOne(options);
    });

  program.command('namesrv')
    .description('a name server')
    .option('-p, --port <port>', 'listen port (0: any free port)', '9876')
    .option('--host <ip>', 'address to listen on', '127.0.0.1')
    .option('--broker-expiry-ms <ms>', 'drop brokers not heard from for this long', '120000')
    .option('--trace', 'print one line per request and response to stderr (protocol debugging)')
    .action((options: { port: string; host: string; brokerExpiryMs: string; trace?: boolean }) => {
      run = () => startNameServer(options);
    });

  program.command('broker')
    .description('a broker')
    .option('-c, --config <file>', 'broker.conf (RocketMQ keys)')
    .option('-n, --namesrv-addr <addrs>', 'name servers, "host:port;host:port" (else NAMESRV_ADDR)')
    .option('--listen-port <port>', 'remoting port, overriding listenPort')
    .option('--data-dir <dir>', 'store root, overriding storePathRootDir')
    .option('--set <key=value...>', 'broker.conf keys, overriding the file')
    .option('--trace', 'print one line per request and response to stderr (protocol debugging)')
    .action((options: BrokerCliOptions) => {
      run = () => startBroker(options);
    });

  registerAdminCommands(program, (adminRun) => {
    run = adminRun;
  });

  registerBenchCommands(program, (benchRun) => {
    run = benchRun;
  });

  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode;
    throw error;
  }
  if (!run) {
    program.outputHelp();
    return 1;
  }
  try {
    return await (run as () => Promise<number>)();
  } catch (error) {
    // Bad configuration and start-up failures: one line, non-zero exit.
    const message = error instanceof TernError || error instanceof Error ? error.message : String(error);
    process.stderr.write(`tern: ${message}\n`);
    return 1;
  }
}

function port(text: string, name: string): number {
  const value = Number(text);
  if (!/^\d+$/.test(text) || value > 65535) throw new Error(`${name} must be a port number 0-65535, got ${JSON.stringify(text)}`);
  return value;
}

/** The --trace sink: request/response lines on stderr, prefixed so they stand out from the JSON logs. */
function traceSink(enabled: boolean | undefined): ((line: string) => void) | undefined {
  return enabled ? (line) => process.stderr.write(`TRACE ${line}\n`) : undefined;
}

async function startNameServer(options: { port: string; host: string; brokerExpiryMs: string; trace?: boolean }): Promise<number> {
  const logger = createLogger();
  const expiry = Number(options.brokerExpiryMs);
  if (!Number.isSafeInteger(expiry) || expiry <= 0) throw new Error(`--broker-expiry-ms must be a positive integer, got ${options.brokerExpiryMs}`);
  const namesrv = new NameServer({
    listenHost: options.host, listenPort: port(options.port, '--port'), brokerChannelExpiredTimeMs: expiry,
    scanIntervalMs: Math.min(10_000, Math.max(100, Math.floor(expiry / 4))),
  }, { logger, trace: traceSink(options.trace) });
  const started = await namesrv.start();
  process.stdout.write(`Tern name server listening on ${started.host}:${started.port}\nREADY namesrv=${started.host}:${started.port}\n`);
  return untilSignal(logger, [() => namesrv.stop()]);
}

async function startBroker(options: BrokerCliOptions): Promise<number> {
  const logger = createLogger();
  const config = resolveBrokerConfig(options, logger);
  const startedAt = performance.now();
  const broker = new Broker(config, { logger, trace: traceSink(options.trace) });
  const started = await broker.start();
  printBroker(config, started.address, started.recovery.cleanShutdown, performance.now() - startedAt);
  process.stdout.write(`READY broker=${started.address}\n`);
  return untilSignal(logger, [() => broker.stop()]);
}

async function startAllInOne(options: BrokerCliOptions & { host: string; namesrvPort: string }): Promise<number> {
  const startedAt = performance.now();
  const logger = createLogger();
  const trace = traceSink(options.trace);
  const namesrv = new NameServer({ listenHost: options.host, listenPort: port(options.namesrvPort, '--namesrv-port') }, { logger, trace });
  const namesrvStarted = await namesrv.start();
  const namesrvAddr = `${options.host}:${namesrvStarted.port}`;
  const base: BrokerConfig = { ...defaultBrokerConfig(), brokerIP1: options.host, namesrvAddr };
  let config: BrokerConfig;
  let broker: Broker;
  try {
    config = resolveBrokerConfig({ ...options, namesrvAddr: options.namesrvAddr ?? namesrvAddr }, logger, base);
    broker = new Broker(config, { logger, trace });
    const started = await broker.start();
    const elapsedMs = performance.now() - startedAt;
    process.stdout.write(`Tern name server listening on ${namesrvAddr}\n`);
    printBroker(config, started.address, started.recovery.cleanShutdown, elapsedMs);
    process.stdout.write(`Clients: NAMESRV_ADDR=${namesrvAddr}\nREADY namesrv=${namesrvAddr} broker=${started.address}\n`);
  } catch (error) {
    await namesrv.stop();
    throw error;
  }
  return untilSignal(logger, [() => broker.stop(), () => namesrv.stop()]);
}

function printBroker(config: BrokerConfig, address: string, cleanShutdown: boolean, elapsedMs: number): void {
  process.stdout.write(
    `Tern broker ${config.brokerName} (cluster ${config.brokerClusterName}) listening on ${address}, ` +
    `${config.flushDiskType}, data in ${config.storePathRootDir}` +
    `${cleanShutdown ? '' : ' (recovered after an unclean stop)'}; started in ${elapsedMs.toFixed(0)} ms\n`,
  );
}

/** Waits for SIGTERM/SIGINT, then stops in order; a stop that takes over 10 s exits non-zero. */
function untilSignal(logger: ReturnType<typeof createLogger>, stops: Array<() => Promise<void>>): Promise<number> {
  return new Promise((resolve) => {
    let stopping = false;
    const onSignal = (signal: NodeJS.Signals): void => {
      if (stopping) return;
      stopping = true;
      logger.info(`${signal}: stopping`);
      const deadline = setTimeout(() => {
        logger.error(`did not stop within ${STOP_DEADLINE_MS} ms; exiting`);
        resolve(1);
      }, STOP_DEADLINE_MS);
      deadline.unref();
      (async () => {
        // Every stop runs even if an earlier one fails: a broken broker must not keep the name server listening.
        let failed = false;
        for (const stop of stops) {
          try {
            await stop();
          } catch (error) {
            failed = true;
            logger.error('stop failed', { error: (error as Error).message });
          }
        }
        return failed ? 1 : 0;
      })().then((code) => {
        clearTimeout(deadline);
        process.off('SIGTERM', onSignal);
        process.off('SIGINT', onSignal);
        resolve(code);
      });
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
}
