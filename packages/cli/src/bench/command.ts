import type { Command } from 'commander';
import { createLogger } from '../logger.js';
import type { BenchIo } from './common.js';
import { runConsumerBench } from './consumer-bench.js';
import {
  type BenchCliConsumer, type BenchCliProducer, DEFAULT_BENCH_TOPIC, DEFAULT_NAMESRV_ADDR, resolveConsumerSettings, resolveProducerSettings,
} from './options.js';
import { runProducerBench } from './producer-bench.js';

/*
 * `tern bench producer` and `tern bench consumer` (RocketMQ's benchmark Producer.java / Consumer.java). Both print
 * a progress line on stderr about once a second and a summary on stdout (JSON with --json); Ctrl-C stops a run
 * cleanly (in-flight work drains, offsets are committed, the summary is printed), a second Ctrl-C exits at once.
 */

const FLUSH_MODE_HELP = `
Flush mode: whether a send is acknowledged after fdatasync (SYNC_FLUSH) or before (ASYNC_FLUSH) is the broker's
flushDiskType (broker.conf, or --set flushDiskType=ASYNC_FLUSH on \`tern start\` / \`tern broker\`); a producer can
neither see nor change it, so this command has no flush option. \`tern start\` prints the broker's flush type.
`;

function commonOptions(command: Command): Command {
  return command
    .option('-n, --namesrv-addr <addrs>', `name servers "host:port;host:port" (else NAMESRV_ADDR, else ${DEFAULT_NAMESRV_ADDR})`)
    .option('-t, --topic <topic>', 'topic', DEFAULT_BENCH_TOPIC)
    .option('-d, --duration-seconds <seconds>', 'stop after this many seconds')
    .option('-m, --messages <count>', 'stop after this many messages')
    .option('--json', 'print the summary as one line of JSON')
    .option('--no-progress', 'no progress line on stderr');
}

/** Runs `body` with SIGINT/SIGTERM turned into an abort signal (a second signal exits at once with 130). */
async function withStopSignals<T>(body: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const onSignal = (signal: NodeJS.Signals): void => {
    if (controller.signal.aborted) {
      process.stderr.write(`\n${signal} again: exiting now\n`);
      process.exit(130);
    }
    process.stderr.write(`\n${signal}: stopping (in-flight work drains; ${signal} again to exit at once)\n`);
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    return await body(controller.signal);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

function benchIo(signal: AbortSignal): BenchIo {
  // Client warnings and errors (route lookups failing, a broker refusing) go to stderr as JSON lines.
  return { stdout: process.stdout, stderr: process.stderr, signal, logger: createLogger(process.env.TERN_LOG_LEVEL ?? 'warn') };
}

/** Adds `bench producer` and `bench consumer` to `program`; `setRun` receives the work to do once parsing succeeded. */
export function registerBenchCommands(program: Command, setRun: (run: () => Promise<number>) => void): void {
  const bench = program.command('bench').description('benchmarks: `bench producer` and `bench consumer` against a running name server and broker');

  commonOptions(bench.command('producer'))
    .description('send messages as fast as the concurrency allows; report msg/s, MB/s and send latency percentiles')
    .option('-s, --message-size <bytes>', 'body size in bytes', '1024')
    .option('-w, --concurrency <count>', 'sends (or batches) in flight', '64')
    .option('-b, --batch-size <count>', '1: single sends; more: SEND_BATCH_MESSAGE with this many messages', '1')
    .option('--tag <tag>', 'tag of every message')
    .option('-g, --group <group>', 'producer group', 'benchmark_producer')
    .addHelpText('after', FLUSH_MODE_HELP)
    .action((options: BenchCliProducer) => {
      setRun(async () => {
        const settings = resolveProducerSettings(options);
        return withStopSignals(async (signal) => (await runProducerBench(settings, benchIo(signal))).exitCode);
      });
    });

  commonOptions(bench.command('consumer'))
    .description('consume with a pull consumer (group-managed); report msg/s, MB/s and end-to-end latency')
    .option('-g, --group <group>', 'consumer group (default: a new benchmark_consumer_* group per run)')
    .option('--from <where>', 'first|last: where a group without a committed offset starts (CONSUME_FROM_FIRST/LAST_OFFSET)', 'last')
    .option('-e, --expression <tags>', 'tag filter: "*" or "TagA || TagB"', '*')
    .addHelpText('after', `
A new group starts at --from, with RocketMQ's rule that a queue whose first message (offset 0) is still stored is
read from its start even with --from last. End-to-end latency is measured from the broker's store time and from the
producer's born time to the moment poll() hands the message over (the clocks of all three hosts must agree).
`)
    .action((options: BenchCliConsumer) => {
      setRun(async () => {
        const settings = resolveConsumerSettings(options);
        return withStopSignals(async (signal) => (await runConsumerBench(settings, benchIo(signal))).exitCode);
      });
    });
}
