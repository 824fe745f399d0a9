import type { DataVersion } from '@tern/protocol';
import type { FileSystem } from '@tern/store';
import { JsonConfigFile } from '../config/json-config-file.js';

/** RocketMQ's SubscriptionGroupConfig with its defaults. */
export interface SubscriptionGroupConfig {
  groupName: string;
  consumeEnable: boolean;
  consumeFromMinEnable: boolean;
  consumeBroadcastEnable: boolean;
  retryQueueNums: number;
  retryMaxTimes: number;
  brokerId: number;
  whichBrokerWhenConsumeSlowly: number;
  notifyConsumerIdsChangedEnable: boolean;
}

export function subscriptionGroupConfig(groupName: string): SubscriptionGroupConfig {
  return {
    groupName, consumeEnable: true, consumeFromMinEnable: true, consumeBroadcastEnable: true, retryQueueNums: 1,
    retryMaxTimes: 16, brokerId: 0, whichBrokerWhenConsumeSlowly: 1, notifyConsumerIdsChangedEnable: true,
  };
}

interface GroupsFile {
  dataVersion: DataVersion;
  subscriptionGroupTable: Record<string, SubscriptionGroupConfig>;
}

/** Consumer groups known to the broker, in config/subscriptionGroup.json; auto-created on first use by default. */
export class SubscriptionGroupManager {
  private readonly groups = new Map<string, SubscriptionGroupConfig>();
  private dataVersion: DataVersion = { timestamp: 0, counter: 0 };
  private readonly file: JsonConfigFile<GroupsFile>;

  constructor(
    fs: FileSystem,
    configDir: string,
    private readonly options: { autoCreateSubscriptionGroup: boolean; nowMs: () => number },
  ) {
    this.file = new JsonConfigFile(fs, `${configDir}/subscriptionGroup.json`);
  }

  async load(): Promise<void> {
    const loaded = await this.file.load((json) => json as GroupsFile);
    if (!loaded) return;
    this.dataVersion = loaded.dataVersion ?? this.dataVersion;
    for (const [name, config] of Object.entries(loaded.subscriptionGroupTable ?? {})) {
      this.groups.set(name, { ...subscriptionGroupConfig(name), ...config });
    }
  }

  get(group: string): SubscriptionGroupConfig | undefined {
    return this.groups.get(group);
  }

  /** The group's config, created when auto-create is on; null when the group is unknown and may not be created. */
  async findOrCreate(group: string): Promise<SubscriptionGroupConfig | null> {
    const existing = this.groups.get(group);
    if (existing) return existing;
    if (!this.options.autoCreateSubscriptionGroup) return null;
    return this.update(subscriptionGroupConfig(group));
  }

  async update(config: SubscriptionGroupConfig): Promise<SubscriptionGroupConfig> {
    this.groups.set(config.groupName, config);
    this.dataVersion = { timestamp: this.options.nowMs(), counter: this.dataVersion.counter + 1 };
    const table: Record<string, SubscriptionGroupConfig> = {};
    for (const [name, value] of [...this.groups.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1))) table[name] = value;
    await this.file.persist({ dataVersion: this.dataVersion, subscriptionGroupTable: table });
    return config;
  }
}
