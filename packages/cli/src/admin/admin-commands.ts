import type { Command } from 'commander';
import { topicProblem } from '@tern/protocol';
import { AdminClient, AdminError } from './admin-client.js';

interface CommonOptions {
  namesrvAddr?: string;
}

/** -n, else NAMESRV_ADDR, else the `tern start` default. */
function namesrvAddrs(options: CommonOptions): string[] {
  const text = options.namesrvAddr ?? process.env.NAMESRV_ADDR ?? '127.0.0.1:9876';
  return text.split(';').map((a) => a.trim()).filter((a) => a.length > 0);
}

function positiveInt(text: string, name: string, max: number): number {
  const value = Number(text);
  if (!/^\d+$/.test(text) || value < 1 || value > max) throw new AdminError(`${name} must be an integer from 1 to ${max}, got ${JSON.stringify(text)}`);
  return value;
}

async function withClient<T>(options: CommonOptions, run: (client: AdminClient) => Promise<T>): Promise<T> {
  const client = new AdminClient(namesrvAddrs(options));
  try {
    return await run(client);
  } finally {
    await client.close();
  }
}

/**
 * `tern admin <command>`: mqadmin's names and flags for the everyday topic and cluster commands. Each command prints
 * its result and resolves 0, or rejects with a one-line AdminError (the caller prints it and exits 1).
 */
export function registerAdminCommands(program: Command, setRun: (run: () => Promise<number>) => void): void {
  const admin = program.command('admin').description('administration commands (mqadmin names): updateTopic, deleteTopic, topicRoute, topicList, clusterList');
  const namesrvOption = ['-n, --namesrv-addr <addrs>', 'name servers "host:port;host:port" (else NAMESRV_ADDR, else 127.0.0.1:9876)'] as const;

  admin.command('updateTopic')
    .description('create or update a topic on one broker (-b) or on every master of a cluster (-c)')
    .requiredOption('-t, --topic <topic>', 'topic name')
    .option(...namesrvOption)
    .option('-b, --broker-addr <addr>', 'broker address')
    .option('-c, --cluster-name <cluster>', 'cluster name (default DefaultCluster when -b is absent)')
    .option('-r, --read-queue-nums <n>', 'read queues', '8')
    .option('-w, --write-queue-nums <n>', 'write queues', '8')
    .option('-p, --perm <perm>', 'permission: 6 read+write, 4 read, 2 write', '6')
    .option('-o, --order <bool>', 'ordered topic', 'false')
    .action((options: CommonOptions & { topic: string; brokerAddr?: string; clusterName?: string; readQueueNums: string; writeQueueNums: string; perm: string; order: string }) => {
      setRun(() => withClient(options, async (client) => {
        const problem = topicProblem(options.topic);
        if (problem) throw new AdminError(problem);
        const topic = {
          name: options.topic, readQueueNums: positiveInt(options.readQueueNums, '-r', 1024),
          writeQueueNums: positiveInt(options.writeQueueNums, '-w', 1024), perm: positiveInt(options.perm, '-p', 7), order: options.order === 'true',
        };
        const brokers = options.brokerAddr ? [options.brokerAddr] : await client.clusterMasters(options.clusterName ?? 'DefaultCluster');
        for (const broker of brokers) {
          await client.createTopic(broker, topic);
          process.stdout.write(`create topic ${topic.name} on ${broker} success (read ${topic.readQueueNums}, write ${topic.writeQueueNums}, perm ${topic.perm})\n`);
        }
        return 0;
      }));
    });

  admin.command('deleteTopic')
    .description('delete a topic from every master of a cluster and from the name servers')
    .requiredOption('-t, --topic <topic>', 'topic name')
    .option(...namesrvOption)
    .option('-c, --cluster-name <cluster>', 'cluster name', 'DefaultCluster')
    .action((options: CommonOptions & { topic: string; clusterName: string }) => {
      setRun(() => withClient(options, async (client) => {
        for (const broker of await client.clusterMasters(options.clusterName)) await client.deleteTopic(broker, options.topic);
        await client.deleteTopicInNamesrvs(options.topic, options.clusterName);
        process.stdout.write(`delete topic ${options.topic} from cluster ${options.clusterName} success\n`);
        return 0;
      }));
    });

  admin.command('topicRoute')
    .description('print a topic\'s route as the name server returns it')
    .requiredOption('-t, --topic <topic>', 'topic name')
    .option(...namesrvOption)
    .action((options: CommonOptions & { topic: string }) => {
      setRun(() => withClient(options, async (client) => {
        process.stdout.write(`${JSON.stringify(await client.topicRoute(options.topic), null, 2)}\n`);
        return 0;
      }));
    });

  admin.command('topicList')
    .description('print every topic the name servers know')
    .option(...namesrvOption)
    .action((options: CommonOptions) => {
      setRun(() => withClient(options, async (client) => {
        for (const topic of await client.topicList()) process.stdout.write(`${topic}\n`);
        return 0;
      }));
    });

  admin.command('clusterList')
    .description('print clusters, broker groups and their addresses')
    .option(...namesrvOption)
    .action((options: CommonOptions) => {
      setRun(() => withClient(options, async (client) => {
        const info = await client.clusterInfo();
        process.stdout.write('#Cluster Name     #Broker Name            #BID  #Addr\n');
        for (const [cluster, names] of Object.entries(info.clusterAddrTable).sort()) {
          for (const name of [...names].sort()) {
            for (const [id, addr] of Object.entries(info.brokerAddrTable[name]?.brokerAddrs ?? {})) {
              process.stdout.write(`${cluster.padEnd(18)} ${name.padEnd(23)} ${id.padEnd(5)} ${addr}\n`);
            }
          }
        }
        return 0;
      }));
    });
}
