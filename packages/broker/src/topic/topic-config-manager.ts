import type { DataVersion, TopicConfig } from '@tern/protocol';
import type { FileSystem } from '@tern/store';
import { JsonConfigFile } from '../config/json-config-file.js';
import { Perm } from './perm.js';

/** RocketMQ's topic created first on every broker: auto-created topics copy its queue counts (TopicValidator). */
export const AUTO_CREATE_TOPIC_KEY_TOPIC = 'TBW102';
export const SELF_TEST_TOPIC = 'SELF_TEST_TOPIC';
export const SCHEDULE_TOPIC = 'SCHEDULE_TOPIC_XXXX';
export const RMQ_SYS_TRANS_HALF_TOPIC = 'RMQ_SYS_TRANS_HALF_TOPIC';
export const RMQ_SYS_TRANS_OP_HALF_TOPIC = 'RMQ_SYS_TRANS_OP_HALF_TOPIC';
export const TRANS_CHECK_MAX_TIME_TOPIC = 'TRANS_CHECK_MAX_TIME_TOPIC';
export const OFFSET_MOVED_EVENT = 'OFFSET_MOVED_EVENT';
export const RETRY_GROUP_TOPIC_PREFIX = '%RETRY%';
export const DLQ_GROUP_TOPIC_PREFIX = '%DLQ%';

/** Topics producers may not send to directly (TopicValidator.NOT_ALLOWED_SEND_TOPIC_SET). */
export const NOT_ALLOWED_SEND_TOPICS: ReadonlySet<string> = new Set([
  SCHEDULE_TOPIC, RMQ_SYS_TRANS_HALF_TOPIC, RMQ_SYS_TRANS_OP_HALF_TOPIC, TRANS_CHECK_MAX_TIME_TOPIC, SELF_TEST_TOPIC,
  OFFSET_MOVED_EVENT,
]);

interface TopicsFile {
  dataVersion: DataVersion;
  topicConfigTable: Record<string, TopicConfig>;
}

export function topicConfig(topicName: string, queueNums: number, perm: number = Perm.READ | Perm.WRITE): TopicConfig {
  return {
    topicName, readQueueNums: queueNums, writeQueueNums: queueNums, perm, topicFilterType: 'SINGLE_TAG', topicSysFlag: 0, order: false,
  };
}

/**
 * The broker's topics, persisted in config/topics.json (RocketMQ's layout). Every change bumps the data version and
 * calls `onChange`, which re-registers the broker with the name servers so the route is visible at once.
 */
export class TopicConfigManager {
  private readonly topics = new Map<string, TopicConfig>();
  private dataVersion: DataVersion = { timestamp: 0, counter: 0 };
  private readonly file: JsonConfigFile<TopicsFile>;

  constructor(
    fs: FileSystem,
    configDir: string,
    private readonly options: {
      clusterName: string;
      brokerName: string;
      autoCreateTopicEnable: boolean;
      defaultTopicQueueNums: number;
      nowMs: () => number;
      onChange: () => void;
    },
  ) {
    this.file = new JsonConfigFile(fs, `${configDir}/topics.json`);
  }

  async load(): Promise<void> {
    const loaded = await this.file.load((json) => json as TopicsFile);
    if (loaded) {
      this.dataVersion = loaded.dataVersion ?? this.dataVersion;
      for (const [name, config] of Object.entries(loaded.topicConfigTable ?? {})) this.topics.set(name, { ...topicConfig(name, 1), ...config });
    }
    const { clusterName, brokerName, defaultTopicQueueNums } = this.options;
    // RocketMQ's built-in topics; TBW102 is inheritable (and so routable) only when auto-create is on.
    const builtIns = [
      topicConfig(AUTO_CREATE_TOPIC_KEY_TOPIC, defaultTopicQueueNums,
        this.options.autoCreateTopicEnable ? Perm.READ | Perm.WRITE | Perm.INHERIT : Perm.READ | Perm.WRITE),
      topicConfig(SELF_TEST_TOPIC, 1),
      // clusterTopicEnable and brokerTopicEnable default to true in RocketMQ: both topics are readable and writable.
      topicConfig(clusterName, 16, Perm.INHERIT | Perm.READ | Perm.WRITE),
      topicConfig(brokerName, 1, Perm.INHERIT | Perm.READ | Perm.WRITE),
      topicConfig(OFFSET_MOVED_EVENT, 1),
    ];
    for (const config of builtIns) {
      const existing = this.topics.get(config.topicName);
      if (!existing || (config.topicName === AUTO_CREATE_TOPIC_KEY_TOPIC && existing.perm !== config.perm)) this.topics.set(config.topicName, config);
    }
    await this.persist();
  }

  get(topic: string): TopicConfig | undefined {
    return this.topics.get(topic);
  }

  all(): TopicConfig[] {
    return [...this.topics.values()];
  }

  version(): DataVersion {
    return { ...this.dataVersion };
  }

  /** UPDATE_AND_CREATE_TOPIC, and the broker's own system topics (retry, DLQ, schedule). */
  async createOrUpdate(config: TopicConfig): Promise<TopicConfig> {
    this.topics.set(config.topicName, config);
    await this.changed();
    return config;
  }

  /** Creates `topic` if missing (used for %RETRY% and %DLQ% topics), returning its config. */
  async ensure(topic: string, queueNums: number, perm: number = Perm.READ | Perm.WRITE): Promise<TopicConfig> {
    return this.topics.get(topic) ?? this.createOrUpdate(topicConfig(topic, queueNums, perm));
  }

  /**
   * A send to an unknown topic: created from `defaultTopic` (TBW102) when auto-create is on and that topic is
   * inheritable, with min(requested, default's) queues, as RocketMQ's createTopicInSendMessageMethod does.
   */
  async autoCreate(topic: string, defaultTopic: string, requestedQueueNums: number, topicSysFlag: number): Promise<TopicConfig | null> {
    const existing = this.topics.get(topic);
    if (existing) return existing;
    if (!this.options.autoCreateTopicEnable) return null;
    const template = this.topics.get(defaultTopic) ?? this.topics.get(AUTO_CREATE_TOPIC_KEY_TOPIC);
    if (!template || (template.perm & Perm.INHERIT) === 0) return null;
    const queueNums = Math.max(1, Math.min(requestedQueueNums > 0 ? requestedQueueNums : template.writeQueueNums, template.writeQueueNums));
    const config = { ...topicConfig(topic, queueNums, template.perm & ~Perm.INHERIT), topicSysFlag };
    return this.createOrUpdate(config);
  }

  async delete(topic: string): Promise<boolean> {
    if (!this.topics.delete(topic)) return false;
    await this.changed();
    return true;
  }

  private async changed(): Promise<void> {
    this.dataVersion = { timestamp: this.options.nowMs(), counter: this.dataVersion.counter + 1 };
    await this.persist();
    this.options.onChange();
  }

  private persist(): Promise<void> {
    const table: Record<string, TopicConfig> = {};
    for (const [name, config] of [...this.topics.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1))) table[name] = config;
    return this.file.persist({ dataVersion: this.dataVersion, topicConfigTable: table });
  }
}
