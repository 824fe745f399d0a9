import { silentLogger, systemClock, type Clock, type Logger } from '@tern/common';
import type {
  BrokerData, ClusterInfo, DataVersion, QueueData, TopicConfig, TopicConfigSerializeWrapper, TopicRouteData,
} from '@tern/protocol';

/** brokerId of a master; slaves have ids ≥ 1. */
export const MASTER_BROKER_ID = 0;
/** RocketMQ's BROKER_CHANNEL_EXPIRED_TIME: a broker not heard from for this long is dropped. */
export const BROKER_CHANNEL_EXPIRED_TIME_MS_DEFAULT = 120_000;

/** One broker group (master + slaves sharing a brokerName). */
export interface BrokerAddrEntry {
  /** The cluster the group first registered in. */
  readonly cluster: string;
  readonly brokerName: string;
  /** brokerId → "ip:port". */
  readonly brokerAddrs: Map<number, string>;
}

/** What the name server knows about one registered broker process, keyed by its address. */
export interface BrokerLiveInfo {
  lastUpdateMs: number;
  /** The topic config version of the last registration that carried one (null: never did). */
  dataVersion: DataVersion | null;
  /** The connection it registered on (null: registered in process, without a connection). */
  channelId: number | null;
  haServerAddr: string;
}

export interface RegisterBrokerResult {
  /** For a slave: its master's address, when the master is registered. Null for a master. */
  masterAddr: string | null;
  /** For a slave: the master's HA address, when the master is registered. Null for a master. */
  haServerAddr: string | null;
}

export interface ExpiredBroker {
  brokerAddr: string;
  channelId: number | null;
  lastUpdateMs: number;
}

export interface RouteInfoManagerOptions {
  /** @defaultValue 120_000 */
  brokerChannelExpiredTimeMs?: number;
  /**
   * When a master's registration no longer lists a topic, drop that master's queues of the topic. Requires brokers to
   * send their whole topic table on every registration (Tern's broker does; a Java 4.9 broker's one-topic
   * "increment" registration would hide its other topics until its next full registration).
   * @defaultValue true
   */
  deleteTopicWithBrokerRegistration?: boolean;
  clock?: Clock;
  logger?: Logger;
}

function byName(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function queueDataOf(brokerName: string, config: TopicConfig): QueueData {
  return {
    brokerName,
    readQueueNums: config.readQueueNums,
    writeQueueNums: config.writeQueueNums,
    perm: config.perm,
    topicSysFlag: config.topicSysFlag,
  };
}

function sameQueueData(a: QueueData, b: QueueData): boolean {
  return a.brokerName === b.brokerName && a.readQueueNums === b.readQueueNums && a.writeQueueNums === b.writeQueueNums
    && a.perm === b.perm && a.topicSysFlag === b.topicSysFlag;
}

function brokerDataOf(entry: BrokerAddrEntry): BrokerData {
  const ids = [...entry.brokerAddrs.keys()].sort((a, b) => a - b);
  return {
    cluster: entry.cluster,
    brokerName: entry.brokerName,
    brokerAddrs: Object.fromEntries(ids.map((id) => [String(id), entry.brokerAddrs.get(id)!])),
  };
}

/**
 * The name server's registry (RocketMQ's RouteInfoManager) with structured keys:
 *   clusterAddrTable  cluster → brokerNames
 *   brokerAddrTable   brokerName → {cluster, brokerName, brokerId → addr}
 *   topicQueueTable   topic → brokerName → QueueData
 *   brokerLiveTable   brokerAddr → {lastUpdateMs, dataVersion, channelId, haServerAddr}
 * Only a master's (brokerId 0) registration creates, changes or removes queue data. Single-threaded: every method
 * runs to completion, so no lock is needed.
 */
export class RouteInfoManager {
  readonly brokerChannelExpiredTimeMs: number;
  private readonly deleteTopicWithBrokerRegistration: boolean;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly clusterAddrTable = new Map<string, Set<string>>();
  private readonly brokerAddrTable = new Map<string, BrokerAddrEntry>();
  private readonly topicQueueTable = new Map<string, Map<string, QueueData>>();
  private readonly brokerLiveTable = new Map<string, BrokerLiveInfo>();

  constructor(options: RouteInfoManagerOptions = {}) {
    this.brokerChannelExpiredTimeMs = options.brokerChannelExpiredTimeMs ?? BROKER_CHANNEL_EXPIRED_TIME_MS_DEFAULT;
    this.deleteTopicWithBrokerRegistration = options.deleteTopicWithBrokerRegistration ?? true;
    this.clock = options.clock ?? systemClock;
    this.logger = options.logger ?? silentLogger;
  }

  /**
   * REGISTER_BROKER: records (or refreshes) a broker. A master's `topicConfigWrapper` is the broker's whole topic
   * table: each listed topic gets (or updates) this brokerName's queue data; with deleteTopicWithBrokerRegistration,
   * topics it no longer lists lose this brokerName's queues (and vanish when no broker serves them). A null wrapper
   * (body-less registration) only refreshes liveness. Slaves' topic tables are ignored, as in RocketMQ.
   */
  registerBroker(
    cluster: string,
    brokerAddr: string,
    brokerName: string,
    brokerId: number,
    haServerAddr: string,
    topicConfigWrapper: TopicConfigSerializeWrapper | null,
    channelId: number | null,
    nowMs: number = this.clock.nowMs(),
  ): RegisterBrokerResult {
    let brokerNames = this.clusterAddrTable.get(cluster);
    if (brokerNames === undefined) {
      brokerNames = new Set();
      this.clusterAddrTable.set(cluster, brokerNames);
    }
    brokerNames.add(brokerName);

    let entry = this.brokerAddrTable.get(brokerName);
    if (entry === undefined) {
      entry = { cluster, brokerName, brokerAddrs: new Map() };
      this.brokerAddrTable.set(brokerName, entry);
    }
    // One address holds one id: a slave promoted to master re-registers as 0 and its old id goes (RocketMQ 4.9).
    for (const [id, addr] of entry.brokerAddrs) if (addr === brokerAddr && id !== brokerId) entry.brokerAddrs.delete(id);
    const previousAddr = entry.brokerAddrs.get(brokerId);
    entry.brokerAddrs.set(brokerId, brokerAddr);
    if (previousAddr !== undefined && previousAddr !== brokerAddr) {
      this.logger.warn(`namesrv: broker ${brokerName} id ${brokerId} moved from ${previousAddr} to ${brokerAddr}`,
        { brokerName, brokerId, previousAddr, brokerAddr });
    }

    if (topicConfigWrapper !== null && brokerId === MASTER_BROKER_ID) {
      this.applyTopicConfigs(brokerName, topicConfigWrapper.topicConfigTable);
    }

    const previous = this.brokerLiveTable.get(brokerAddr);
    this.brokerLiveTable.set(brokerAddr, {
      lastUpdateMs: nowMs,
      dataVersion: topicConfigWrapper !== null ? { ...topicConfigWrapper.dataVersion } : previous?.dataVersion ?? null,
      channelId,
      haServerAddr,
    });
    if (previous === undefined) {
      this.logger.info(`namesrv: new broker registered: ${brokerAddr} (${cluster}/${brokerName}/${brokerId}), HA ${haServerAddr}`,
        { cluster, brokerName, brokerId, brokerAddr, haServerAddr });
    }

    if (brokerId === MASTER_BROKER_ID) return { masterAddr: null, haServerAddr: null };
    const masterAddr = entry.brokerAddrs.get(MASTER_BROKER_ID);
    const master = masterAddr === undefined ? undefined : this.brokerLiveTable.get(masterAddr);
    if (masterAddr === undefined || master === undefined) return { masterAddr: null, haServerAddr: null };
    return { masterAddr, haServerAddr: master.haServerAddr };
  }

  /** UNREGISTER_BROKER: a broker shutting down cleanly. Returns false when that id did not hold that address. */
  unregisterBroker(cluster: string, brokerAddr: string, brokerName: string, brokerId: number): boolean {
    this.brokerLiveTable.delete(brokerAddr);
    const entry = this.brokerAddrTable.get(brokerName);
    if (entry === undefined || entry.brokerAddrs.get(brokerId) !== brokerAddr) {
      this.logger.info(`namesrv: unregisterBroker ${cluster}/${brokerName}/${brokerId} ${brokerAddr}: not registered`,
        { cluster, brokerName, brokerId, brokerAddr });
      return false;
    }
    entry.brokerAddrs.delete(brokerId);
    this.logger.info(`namesrv: broker unregistered: ${brokerAddr} (${cluster}/${brokerName}/${brokerId})`,
      { cluster, brokerName, brokerId, brokerAddr });
    if (entry.brokerAddrs.size === 0) this.removeBrokerName(brokerName);
    return true;
  }

  /** The route of `topic` (arrays sorted by brokerName), or null when no registered broker serves it. */
  pickupTopicRouteData(topic: string): TopicRouteData | null {
    const queues = this.topicQueueTable.get(topic);
    if (queues === undefined || queues.size === 0) return null;
    const brokerNames = [...queues.keys()].sort(byName);
    const brokerDatas: BrokerData[] = [];
    for (const brokerName of brokerNames) {
      const entry = this.brokerAddrTable.get(brokerName);
      if (entry !== undefined) brokerDatas.push(brokerDataOf(entry));
    }
    if (brokerDatas.length === 0) return null;
    return {
      queueDatas: brokerNames.map((brokerName) => ({ ...queues.get(brokerName)! })),
      brokerDatas,
      filterServerTable: {},
    };
  }

  /**
   * Drops every broker not heard from for more than brokerChannelExpiredTimeMs; returns them (the caller closes
   * their connections, as RocketMQ does).
   */
  scanNotActiveBroker(nowMs: number = this.clock.nowMs()): ExpiredBroker[] {
    const expired: ExpiredBroker[] = [];
    for (const [brokerAddr, live] of this.brokerLiveTable) {
      if (live.lastUpdateMs + this.brokerChannelExpiredTimeMs < nowMs) {
        expired.push({ brokerAddr, channelId: live.channelId, lastUpdateMs: live.lastUpdateMs });
      }
    }
    for (const broker of expired) {
      this.logger.warn(`namesrv: broker ${broker.brokerAddr} expired: not heard from for ${nowMs - broker.lastUpdateMs} ms`,
        { brokerAddr: broker.brokerAddr, lastUpdateMs: broker.lastUpdateMs, brokerChannelExpiredTimeMs: this.brokerChannelExpiredTimeMs });
      this.removeBrokerAddr(broker.brokerAddr);
    }
    return expired;
  }

  /** A connection closed: drop at once every broker that registered on it. Returns their addresses. */
  onChannelDestroy(channelId: number): string[] {
    const removed: string[] = [];
    for (const [brokerAddr, live] of this.brokerLiveTable) if (live.channelId === channelId) removed.push(brokerAddr);
    for (const brokerAddr of removed) {
      this.logger.info(`namesrv: connection of broker ${brokerAddr} closed, removing it`, { brokerAddr, channelId });
      this.removeBrokerAddr(brokerAddr);
    }
    return removed;
  }

  /** GET_BROKER_CLUSTER_INFO body (brokerNames sorted). */
  getBrokerClusterInfo(): ClusterInfo {
    const brokerNames = [...this.brokerAddrTable.keys()].sort(byName);
    const clusters = [...this.clusterAddrTable.keys()].sort(byName);
    return {
      brokerAddrTable: Object.fromEntries(brokerNames.map((name) => [name, brokerDataOf(this.brokerAddrTable.get(name)!)])),
      clusterAddrTable: Object.fromEntries(clusters.map((cluster) => [cluster, [...this.clusterAddrTable.get(cluster)!].sort(byName)])),
    };
  }

  /** Every routable topic, sorted. */
  getAllTopicList(): string[] {
    return [...this.topicQueueTable.keys()].sort(byName);
  }

  /** The topics with queues on some broker group of `cluster`, sorted ([] for an unknown cluster). */
  getTopicsByCluster(cluster: string): string[] {
    const brokerNames = this.clusterAddrTable.get(cluster);
    if (brokerNames === undefined) return [];
    const topics: string[] = [];
    for (const [topic, queues] of this.topicQueueTable) {
      for (const brokerName of queues.keys()) {
        if (brokerNames.has(brokerName)) {
          topics.push(topic);
          break;
        }
      }
    }
    return topics.sort(byName);
  }

  /**
   * DELETE_TOPIC_IN_NAMESRV: forgets the topic's route (only its queues on `cluster`'s broker groups when given).
   * A master that still lists the topic brings it back with its next registration. Returns whether anything went.
   */
  deleteTopic(topic: string, cluster?: string): boolean {
    const queues = this.topicQueueTable.get(topic);
    if (queues === undefined) return false;
    if (cluster === undefined) {
      this.topicQueueTable.delete(topic);
      return true;
    }
    const brokerNames = this.clusterAddrTable.get(cluster);
    let removed = false;
    for (const brokerName of [...queues.keys()]) {
      if (brokerNames?.has(brokerName)) {
        queues.delete(brokerName);
        removed = true;
      }
    }
    if (queues.size === 0) this.topicQueueTable.delete(topic);
    return removed;
  }

  /** The liveness record of a broker address, if registered (a copy). */
  brokerLiveInfo(brokerAddr: string): BrokerLiveInfo | undefined {
    const live = this.brokerLiveTable.get(brokerAddr);
    return live === undefined ? undefined : { ...live, dataVersion: live.dataVersion === null ? null : { ...live.dataVersion } };
  }

  /** The registered broker addresses, sorted. */
  liveBrokerAddrs(): string[] {
    return [...this.brokerLiveTable.keys()].sort(byName);
  }

  /** True while some registered broker uses the connection. */
  hasBrokerOnChannel(channelId: number): boolean {
    for (const live of this.brokerLiveTable.values()) if (live.channelId === channelId) return true;
    return false;
  }

  private applyTopicConfigs(brokerName: string, topicConfigTable: Readonly<Record<string, TopicConfig>>): void {
    const listed = new Set<string>();
    for (const config of Object.values(topicConfigTable)) {
      const topic = config.topicName;
      listed.add(topic);
      const queueData = queueDataOf(brokerName, config);
      let queues = this.topicQueueTable.get(topic);
      if (queues === undefined) {
        queues = new Map();
        this.topicQueueTable.set(topic, queues);
        this.logger.info(`namesrv: new topic registered: ${topic} on ${brokerName}`, { topic, brokerName });
      }
      const current = queues.get(brokerName);
      if (current !== undefined && sameQueueData(current, queueData)) continue;
      if (current !== undefined) {
        this.logger.info(`namesrv: topic ${topic} changed on ${brokerName}`, { topic, brokerName, old: current, new: queueData });
      }
      queues.set(brokerName, queueData);
    }
    if (!this.deleteTopicWithBrokerRegistration) return;
    for (const [topic, queues] of this.topicQueueTable) {
      if (listed.has(topic) || !queues.has(brokerName)) continue;
      queues.delete(brokerName);
      this.logger.info(`namesrv: topic ${topic} no longer on ${brokerName}`, { topic, brokerName });
      if (queues.size === 0) this.topicQueueTable.delete(topic);
    }
  }

  /** Forgets one broker process: its liveness, its address in its group, and the group itself once empty. */
  private removeBrokerAddr(brokerAddr: string): void {
    this.brokerLiveTable.delete(brokerAddr);
    const emptied: string[] = [];
    for (const [brokerName, entry] of this.brokerAddrTable) {
      let found = false;
      for (const [id, addr] of entry.brokerAddrs) {
        if (addr === brokerAddr) {
          entry.brokerAddrs.delete(id);
          found = true;
        }
      }
      if (found && entry.brokerAddrs.size === 0) emptied.push(brokerName);
    }
    for (const brokerName of emptied) this.removeBrokerName(brokerName);
  }

  /** Forgets a broker group with no address left: its cluster membership and all its queues. */
  private removeBrokerName(brokerName: string): void {
    this.brokerAddrTable.delete(brokerName);
    for (const [cluster, brokerNames] of this.clusterAddrTable) {
      if (brokerNames.delete(brokerName) && brokerNames.size === 0) this.clusterAddrTable.delete(cluster);
    }
    for (const [topic, queues] of this.topicQueueTable) {
      if (queues.delete(brokerName) && queues.size === 0) this.topicQueueTable.delete(topic);
    }
    this.logger.info(`namesrv: broker group ${brokerName} removed (no address left)`, { brokerName });
  }
}
