import { type Clock, type Logger, silentLogger, systemClock } from '@tern/common';
import { type HostAddress, RequestCode, hostAddress } from '@tern/protocol';
import { RemotingClient, RemotingServer, type RequestProcessor, type TraceSink } from '@tern/remoting';
import { MessageStore, NodeFileSystem, SCHEDULE_TOPIC, type StoreConfig, type StoreRecoveryReport } from '@tern/store';
import { ScheduleMessageService } from './schedule/schedule-message-service.js';
import { sendBackProcessor } from './processors/send-back.js';
import { type BrokerConfig, finishBrokerConfig, parseDelayLevels } from './config/broker-config.js';
import type { BrokerContext } from './broker-context.js';
import { TopicConfigManager } from './topic/topic-config-manager.js';
import { SubscriptionGroupManager } from './subscription/subscription-group-manager.js';
import { ConsumerOffsetManager } from './offset/consumer-offset-manager.js';
import { ConsumerManager } from './client/consumer-manager.js';
import { ProducerManager } from './client/producer-manager.js';
import { RebalanceLockManager } from './client/rebalance-lock-manager.js';
import { PullHoldService } from './longpoll/pull-hold-service.js';
import { NamesrvRegistration, parseNamesrvAddrs } from './namesrv-registration.js';
import { sendMessageProcessor } from './processors/send-message.js';
import { pullMessageProcessor } from './processors/pull-message.js';
import { consumerListProcessor, queryConsumerOffsetProcessor, updateConsumerOffsetProcessor } from './processors/consumer-manage.js';
import { heartbeatProcessor, notifyConsumerIdsChanged, unregisterClientProcessor } from './processors/client-manage.js';
import {
  allTopicConfigProcessor, createTopicProcessor, deleteTopicProcessor, earliestMessageTimeProcessor, maxOffsetProcessor,
  minOffsetProcessor, searchOffsetProcessor,
} from './processors/admin.js';
import { queryMessageProcessor, viewMessageProcessor } from './processors/query-message.js';
import { lockBatchProcessor, unlockBatchProcessor } from './processors/lock.js';

export interface BrokerStartResult {
  /** "ip:port" clients use. */
  address: string;
  listenPort: number;
  recovery: StoreRecoveryReport;
}

/** The store configuration a broker.conf implies. */
export function storeConfigFor(config: BrokerConfig): StoreConfig {
  return {
    storePathRootDir: config.storePathRootDir,
    commitLogSegmentSizeBytes: config.mappedFileSizeCommitLog,
    consumeQueueUnitsPerFile: config.mappedFileSizeConsumeQueue / 20,
    flushDiskType: config.flushDiskType,
    flushIntervalCommitLogMs: config.flushIntervalCommitLog,
    syncFlushTimeoutMs: config.syncFlushTimeout,
    flushConsumeQueueIntervalMs: config.flushIntervalConsumeQueue,
    maxMessageSizeBytes: config.maxMessageSize,
    accessMessageInMemoryMaxRatio: config.accessMessageInMemoryMaxRatio,
    messageIndexEnable: config.messageIndexEnable,
    indexHashSlotNum: config.maxHashSlotNum,
    indexNum: config.maxIndexNum,
    fileReservedTimeHours: config.fileReservedTime,
    deleteWhen: config.deleteWhen,
    diskUsageCleanEarlyRatio: config.diskMaxUsedSpaceRatio / 100,
    diskUsageCleanForciblyRatio: config.diskSpaceCleanForciblyRatio,
    diskMaxUsedSpaceRatio: config.diskSpaceWarningLevelRatio,
    retentionCheckIntervalMs: 10_000,
    storeHost: hostAddress(config.brokerIP1, config.listenPort),
    delayLevelsMs: parseDelayLevels(config.messageDelayLevel),
  };
}

/**
 * The broker's composition root: builds the services, starts them in order (store recovery first, then the
 * listener, so no client connects before recovery is done) and stops them in reverse.
 */
export class Broker {
  private readonly logger: Logger;
  private readonly clock: Clock;
  private store!: MessageStore;
  private server!: RemotingServer;
  private client!: RemotingClient;
  private registration!: NamesrvRegistration;
  private context!: BrokerContext;
  private schedule!: ScheduleMessageService;
  private timers: NodeJS.Timeout[] = [];
  private address = '';
  private host: HostAddress;
  private state: 'new' | 'running' | 'stopped' = 'new';

  readonly config: BrokerConfig;

  /** `config` is completed (listenHost, haListenPort, ...) and checked here, whatever built it. */
  private readonly trace: TraceSink | undefined;

  constructor(config: BrokerConfig, options: { logger?: Logger; clock?: Clock; trace?: TraceSink } = {}) {
    this.config = finishBrokerConfig(config);
    this.trace = options.trace;
    config = this.config;
    this.logger = options.logger ?? silentLogger;
    this.clock = options.clock ?? systemClock;
    this.host = hostAddress(config.brokerIP1, config.listenPort);
  }

  async start(): Promise<BrokerStartResult> {
    if (this.state !== 'new') throw new Error(`Broker.start() in state ${this.state}`);
    const config = this.config;
    const nowMs = (): number => this.clock.nowMs();
    const fs = new NodeFileSystem();
    const configDir = `${config.storePathRootDir}/config`;
    const pullHold = new PullHoldService();
    const storeConfig = storeConfigFor(config);
    let schedule: ScheduleMessageService | null = null;
    this.store = new MessageStore(storeConfig, {
      clock: this.clock, logger: this.logger,
      onMessageArrived: (topic, queueId, maxOffset, tagsCode) => {
        if (topic === SCHEDULE_TOPIC) schedule?.onMessageArrived(queueId);
        else pullHold.notifyMessageArrived(topic, queueId, maxOffset, tagsCode);
      },
    });
    const recovery = await this.store.start();
    schedule = new ScheduleMessageService(this.store, fs, configDir, storeConfig.delayLevelsMs, this.clock, this.logger);
    this.schedule = schedule;
    const topics = new TopicConfigManager(fs, configDir, {
      clusterName: config.brokerClusterName, brokerName: config.brokerName, autoCreateTopicEnable: config.autoCreateTopicEnable,
      defaultTopicQueueNums: config.defaultTopicQueueNums, nowMs, onChange: () => undefined,
    });
    const groups = new SubscriptionGroupManager(fs, configDir, { autoCreateSubscriptionGroup: config.autoCreateSubscriptionGroup, nowMs });
    const offsets = new ConsumerOffsetManager(fs, configDir);
    await Promise.all([topics.load(), groups.load(), offsets.load(), schedule.load()]);

    this.client = new RemotingClient({ logger: this.logger });
    this.registration = new NamesrvRegistration(this.client, topics, {
      namesrvAddrs: parseNamesrvAddrs(config.namesrvAddr), clusterName: config.brokerClusterName, brokerName: config.brokerName,
      brokerId: config.brokerId, periodMs: config.registerNameServerPeriod, brokerAddr: () => this.address,
      haServerAddr: () => `${config.brokerIP1}:${config.haListenPort}`, logger: this.logger,
    });
    const consumers = new ConsumerManager({
      channelExpiredTimeoutMs: config.clientChannelExpiredTimeout, nowMs,
      onGroupChanged: (group) => notifyConsumerIdsChanged(this.context, group),
    });
    const producers = new ProducerManager({ channelExpiredTimeoutMs: config.clientChannelExpiredTimeout, nowMs });
    this.context = {
      config, store: this.store, topics, groups, offsets, consumers, producers, pullHold, delayLevelsMs: storeConfig.delayLevelsMs,
      locks: new RebalanceLockManager({ lockMaxLiveTimeMs: config.rebalanceLockMaxLiveTime, nowMs }),
      brokerAddr: () => this.address, storeHost: () => this.host,
      registerWithNameServers: () => this.registration.registerAll(), logger: this.logger, clock: this.clock,
    };

    this.server = new RemotingServer({ host: config.listenHost, port: config.listenPort, logger: this.logger, trace: this.trace });
    this.registerProcessors(this.server, this.context);
    this.server.onChannelClose((channel) => {
      consumers.channelClosed(channel);
      producers.channelClosed(channel);
    });
    const listening = await this.server.listen();
    this.address = `${config.brokerIP1}:${listening.port}`;
    this.host = hostAddress(config.brokerIP1, listening.port);
    this.store.setStoreHost(this.host);

    this.startTimers();
    schedule.start();
    this.registration.start();
    await this.registration.registerAll();
    this.state = 'running';
    return { address: this.address, listenPort: listening.port, recovery };
  }

  private registerProcessors(server: RemotingServer, context: BrokerContext): void {
    const send = sendMessageProcessor(context);
    const processors: Array<[number, RequestProcessor]> = [
      [RequestCode.SEND_MESSAGE, send],
      [RequestCode.SEND_MESSAGE_V2, send],
      [RequestCode.SEND_BATCH_MESSAGE, send],
      [RequestCode.PULL_MESSAGE, pullMessageProcessor(context)],
      [RequestCode.CONSUMER_SEND_MSG_BACK, sendBackProcessor(context)],
      [RequestCode.QUERY_CONSUMER_OFFSET, queryConsumerOffsetProcessor(context)],
      [RequestCode.UPDATE_CONSUMER_OFFSET, updateConsumerOffsetProcessor(context)],
      [RequestCode.GET_CONSUMER_LIST_BY_GROUP, consumerListProcessor(context)],
      [RequestCode.HEART_BEAT, heartbeatProcessor(context)],
      [RequestCode.UNREGISTER_CLIENT, unregisterClientProcessor(context)],
      [RequestCode.UPDATE_AND_CREATE_TOPIC, createTopicProcessor(context)],
      [RequestCode.DELETE_TOPIC_IN_BROKER, deleteTopicProcessor(context)],
      [RequestCode.GET_ALL_TOPIC_CONFIG, allTopicConfigProcessor(context)],
      [RequestCode.GET_MAX_OFFSET, maxOffsetProcessor(context)],
      [RequestCode.GET_MIN_OFFSET, minOffsetProcessor(context)],
      [RequestCode.SEARCH_OFFSET_BY_TIMESTAMP, searchOffsetProcessor(context)],
      [RequestCode.GET_EARLIEST_MSG_STORETIME, earliestMessageTimeProcessor(context)],
      [RequestCode.VIEW_MESSAGE_BY_ID, viewMessageProcessor(context)],
      [RequestCode.QUERY_MESSAGE, queryMessageProcessor(context)],
      [RequestCode.LOCK_BATCH_MQ, lockBatchProcessor(context)],
      [RequestCode.UNLOCK_BATCH_MQ, unlockBatchProcessor(context)],
    ];
    for (const [code, processor] of processors) server.registerProcessor(code, processor);
  }

  private startTimers(): void {
    const { consumers, producers, offsets } = this.context;
    const scanMs = Math.max(100, Math.min(10_000, Math.floor(this.config.clientChannelExpiredTimeout / 4)));
    const every = (periodMs: number, task: () => unknown): void => {
      const timer = setInterval(() => {
        Promise.resolve().then(task).catch((error: Error) => this.logger.error('broker task failed', { error: error.message }));
      }, periodMs);
      timer.unref();
      this.timers.push(timer);
    };
    every(scanMs, () => {
      consumers.scanExpired();
      producers.scanExpired();
    });
    every(this.config.flushConsumerOffsetInterval, async () => {
      await offsets.persist();
      await this.schedule.persist();
    });
  }

  get brokerAddress(): string {
    return this.address;
  }

  /** Clean stop: unregister, stop accepting, answer held pulls, persist offsets, flush and close the store. */
  async stop(): Promise<void> {
    if (this.state !== 'running') return;
    this.state = 'stopped';
    for (const timer of this.timers) clearInterval(timer);
    this.timers = [];
    await this.registration.stop();
    this.context.pullHold.releaseAll();
    await this.server.close();
    await this.client.close();
    await this.schedule.stop();
    await this.context.offsets.persist(true);
    await this.store.shutdown();
  }
}
