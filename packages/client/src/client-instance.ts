import type { Logger } from '@tern/common';
import {
  CheckTransactionStateRequestHeader, type ConsumerData, GetConsumerRunningInfoRequestHeader, HeartbeatData,
  NotifyConsumerIdsChangedRequestHeader, type RemotingCommand, RequestCode, ResponseCode, type TopicRouteData, decodeCustomHeader,
  responseCommand,
} from '@tern/protocol';
import { type RemotingChannel, RemotingClient, RemotingConnectionError, type RequestProcessor } from '@tern/remoting';
import {
  consumerListRequest, heartbeatRequest, readConsumerListResponse, readRouteResponse, routeRequest, unregisterClientRequest,
} from './client-api.js';
import { type ClientConfig, buildClientId } from './client-config.js';
import { ClientErrorCode, type ErrorContext, MQClientError, wrapRemotingError } from './errors.js';
import { type MessageExt, decodeMessageExt } from './message.js';
import { MASTER_BROKER_ID, normalizeRoute, routesEqual } from './route.js';

/*
 * RocketMQ's MQClientInstance: the part of a client process shared by every producer and consumer with the same
 * client id (`clientIP@instanceName`). It owns
 *   - one RemotingClient, so one connection per name server / broker address;
 *   - the route table (topic → TopicRouteData) and the broker address table (brokerName → brokerId → address),
 *     refreshed every pollNameServerIntervalMs for every topic a member uses;
 *   - heartbeats (HEART_BEAT with every registered group) to every broker master, and to slaves too when a consumer
 *     is registered, every heartbeatBrokerIntervalMs and on demand;
 *   - the broker → client requests: NOTIFY_CONSUMER_IDS_CHANGED (rebalance now), GET_CONSUMER_RUNNING_INFO,
 *     CHECK_TRANSACTION_STATE (to the producer of the half message's group);
 *   - the consumers' periodic rebalance and offset persistence timers.
 * Producers and consumers are "members": each registers its group with a small interface (ProducerMember,
 * ConsumerMember) through which the instance asks for heartbeat data and topics and reports route changes and
 * rebalance triggers. Timers are unref'd: a client never keeps the process alive by itself.
 */

/** Why a consumer is asked to rebalance. */
export type RebalanceReason =
  | { kind: 'timer' }
  /** A broker sent NOTIFY_CONSUMER_IDS_CHANGED for `consumerGroup` (RocketMQ rebalances every consumer). */
  | { kind: 'notify'; consumerGroup: string; brokerAddr: string }
  /** rebalanceImmediately() was called (e.g. when a consumer starts). */
  | { kind: 'manual' };

/** A CHECK_TRANSACTION_STATE request from a broker, for the producer of the half message's group. */
export interface TransactionCheckRequest {
  brokerAddr: string;
  header: CheckTransactionStateRequestHeader;
  /** The half message (its PGROUP property names the group). */
  message: MessageExt;
}

/** What a producer gives its client instance. */
export interface ProducerMember {
  /** Topics whose routes the instance refreshes for this producer. */
  topicsInUse(): Iterable<string>;
  /** A topic's route changed (the instance keeps `route`; do not modify it). */
  onTopicRouteChanged?(topic: string, route: TopicRouteData): void;
  /** CHECK_TRANSACTION_STATE for a half message of this group (transaction producers); oneway, no answer. */
  checkTransactionState?(request: TransactionCheckRequest): void;
}

/** What GET_CONSUMER_RUNNING_INFO reports beyond what the instance fills in. */
export interface ConsumerRunningInfoInput {
  /** Merged over the instance's PROP_* entries. */
  properties?: Record<string, string>;
  /** Per queue ("topic@brokerName@queueId" → process queue info). */
  mqTable?: Record<string, unknown>;
  /** Per topic consume statistics. */
  statusTable?: Record<string, unknown>;
}

/** What a consumer gives its client instance. */
export interface ConsumerMember {
  /** This group's entry of HEART_BEAT (group, consume type, message model, consume-from, subscriptions). */
  consumerData(): ConsumerData;
  /** Topics whose routes the instance refreshes. @defaultValue the topics of consumerData().subscriptionDataSet */
  topicsInUse?(): Iterable<string>;
  /** A topic's route changed: recompute the subscribable queues (route.ts subscribeQueues). Do not modify `route`. */
  onTopicRouteChanged?(topic: string, route: TopicRouteData): void;
  /** Reassign queues. Called every rebalanceIntervalMs and on NOTIFY_CONSUMER_IDS_CHANGED; never twice at once. */
  doRebalance(reason: RebalanceReason): Promise<void> | void;
  /** Persist consumed offsets; every persistConsumerOffsetIntervalMs. */
  persistConsumerOffset?(): Promise<void> | void;
  /** Extra GET_CONSUMER_RUNNING_INFO content. */
  runningInfo?(): ConsumerRunningInfoInput;
}

/** A route lookup that falls back to a template topic (TBW102) when the topic itself is unknown. */
export interface DefaultTopicRoute {
  /** The template topic (the producer's createTopicKey, TBW102). */
  key: string;
  /** Queue count of the auto-created topic: every queue count of the template is clamped to it. */
  queueNums: number;
}

export const CLIENT_VERSION_DESC = 'V4_9_4';

/** Keys of ConsumerRunningInfo.properties that the instance fills (RocketMQ's names). */
export const ConsumerRunningInfoProperty = {
  NAMESERVER_ADDR: 'PROP_NAMESERVER_ADDR',
  CONSUME_TYPE: 'PROP_CONSUME_TYPE',
  CLIENT_VERSION: 'PROP_CLIENT_VERSION',
  CONSUMER_START_TIMESTAMP: 'PROP_CONSUMER_START_TIMESTAMP',
} as const;

type State = 'created' | 'running' | 'stopping' | 'stopped';

interface ConsumerEntry {
  member: ConsumerMember;
  registeredAtMs: number;
}

/** Instances by client id (RocketMQ's MQClientManager). */
const instances = new Map<string, ClientInstance>();

/** Consecutive rebalance rounds one trigger may cause (requests arriving during a round cause one more). */
const REBALANCE_ROUNDS_MAX = 8;

export class ClientInstance {
  readonly clientId: string;
  readonly config: ClientConfig;
  private readonly logger: Logger;
  private readonly remoting: RemotingClient;
  private state: State = 'created';
  private readonly producers = new Map<string, ProducerMember>();
  private readonly consumers = new Map<string, ConsumerEntry>();
  private readonly topicRouteTable = new Map<string, TopicRouteData>();
  /** brokerName → brokerId → "ip:port". */
  private readonly brokerAddrTable = new Map<string, Map<number, string>>();
  private readonly routeLookups = new Map<string, Promise<TopicRouteData | null>>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  /** Background work (timer tasks, rebalances) still running, awaited by shutdown. */
  private readonly background = new Set<Promise<unknown>>();
  private namesrvIndex: number;
  private heartbeatChain: Promise<void> = Promise.resolve();
  private heartbeatQueued: Promise<void> | null = null;
  private rebalanceRunning = false;
  private rebalanceAgain: RebalanceReason | null = null;
  private stopping: Promise<void> | null = null;

  /** Use ClientInstance.acquire(): one instance per client id. */
  private constructor(config: ClientConfig) {
    this.config = config;
    this.clientId = buildClientId(config);
    this.logger = config.logger;
    this.namesrvIndex = Math.floor(Math.random() * config.namesrvAddr.length);
    this.remoting = new RemotingClient({
      connectTimeoutMs: config.connectTimeoutMs, requestTimeoutMs: config.mqClientApiTimeoutMs, logger: config.logger,
    });
    this.remoting.registerProcessor(RequestCode.NOTIFY_CONSUMER_IDS_CHANGED, (request, channel) => this.onNotifyConsumerIdsChanged(request, channel));
    this.remoting.registerProcessor(RequestCode.GET_CONSUMER_RUNNING_INFO, (request) => this.onGetConsumerRunningInfo(request));
    this.remoting.registerProcessor(RequestCode.CHECK_TRANSACTION_STATE, (request, channel) => this.onCheckTransactionState(request, channel));
  }

  /**
   * The instance for `config`'s client id, created if there is none (or the last one shut down). A later caller
   * with the same client id gets the existing instance and its settings (RocketMQ's MQClientManager does the same).
   */
  static acquire(config: ClientConfig): ClientInstance {
    const clientId = buildClientId(config);
    const existing = instances.get(clientId);
    if (existing !== undefined && (existing.state === 'created' || existing.state === 'running')) {
      if (existing.config.namesrvAddr.join(';') !== config.namesrvAddr.join(';')) {
        existing.logger.warn(`client ${clientId}: reused with its first name server list; `
          + `${config.namesrvAddr.join(';')} ignored (give another instanceName to use other name servers)`, { clientId });
      }
      return existing;
    }
    const instance = new ClientInstance(config);
    instances.set(clientId, instance);
    return instance;
  }

  /** Client ids of the instances not shut down (for tests and diagnostics). */
  static activeClientIds(): string[] {
    return [...instances.keys()];
  }

  get running(): boolean {
    return this.state === 'running';
  }

  /** Starts the timers. Idempotent; throws MQClientError after shutdown. */
  start(): void {
    if (this.state === 'running') return;
    if (this.state !== 'created') throw new MQClientError(`client instance ${this.clientId} is ${this.state}`);
    this.state = 'running';
    const c = this.config;
    this.schedule('route', 10, c.pollNameServerIntervalMs, () => this.refreshRoutesInUse());
    this.schedule('heartbeat', 1_000, c.heartbeatBrokerIntervalMs, async () => {
      this.cleanOfflineBrokers();
      await this.sendHeartbeatToAllBrokers();
    });
    this.schedule('persist', 10_000, c.persistConsumerOffsetIntervalMs, () => this.persistAllConsumerOffsets());
    this.schedule('rebalance', c.rebalanceIntervalMs, c.rebalanceIntervalMs, () => this.runRebalance({ kind: 'timer' }));
    this.logger.info(`client ${this.clientId} started`, { clientId: this.clientId, namesrvAddr: c.namesrvAddr.join(';') });
  }

  // ---- members ----------------------------------------------------------------------------------------------------

  /** Registers a producer group; MQClientError if the group is already registered here or the instance is stopped. */
  registerProducer(group: string, member: ProducerMember): void {
    this.checkOpen();
    if (this.producers.has(group)) {
      throw new MQClientError(`the producer group[${group}] has been created before in client ${this.clientId}, specify another name please`);
    }
    this.producers.set(group, member);
  }

  /** Registers a consumer group; MQClientError if the group is already registered here or the instance is stopped. */
  registerConsumer(group: string, member: ConsumerMember): void {
    this.checkOpen();
    if (this.consumers.has(group)) {
      throw new MQClientError(`the consumer group[${group}] has been created before in client ${this.clientId}, specify another name please`);
    }
    this.consumers.set(group, { member, registeredAtMs: Date.now() });
  }

  /** Removes a producer group and sends UNREGISTER_CLIENT for it to every known broker. Never rejects. */
  async unregisterProducer(group: string): Promise<void> {
    if (!this.producers.delete(group)) return;
    await this.unregisterClient({ producerGroup: group });
  }

  /** Removes a consumer group and sends UNREGISTER_CLIENT for it to every known broker. Never rejects. */
  async unregisterConsumer(group: string): Promise<void> {
    if (!this.consumers.delete(group)) return;
    await this.unregisterClient({ consumerGroup: group });
  }

  producerGroups(): string[] {
    return [...this.producers.keys()];
  }

  consumerGroups(): string[] {
    return [...this.consumers.keys()];
  }

  /** Shuts the instance down when no producer or consumer is registered any more. */
  async shutdownIfUnused(): Promise<void> {
    if (this.producers.size === 0 && this.consumers.size === 0) await this.shutdown();
  }

  /**
   * Sends UNREGISTER_CLIENT for every group still registered to every known broker, stops the timers, waits for
   * background work, and closes every connection. Idempotent; resolves once every socket is released.
   */
  shutdown(): Promise<void> {
    if (this.stopping !== null) return this.stopping;
    if (instances.get(this.clientId) === this) instances.delete(this.clientId);
    this.state = 'stopping';
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    this.stopping = (async () => {
      const groups = [
        ...[...this.producers.keys()].map((producerGroup) => ({ producerGroup })),
        ...[...this.consumers.keys()].map((consumerGroup) => ({ consumerGroup })),
      ];
      this.producers.clear();
      this.consumers.clear();
      await Promise.all(groups.map((group) => this.unregisterClient(group)));
      await this.remoting.close();
      await Promise.allSettled([...this.background]);
      this.state = 'stopped';
      this.logger.info(`client ${this.clientId} shut down`, { clientId: this.clientId });
    })();
    return this.stopping;
  }

  // ---- routes -----------------------------------------------------------------------------------------------------

  /** The route kept for `topic` (null if none): no request. */
  getTopicRoute(topic: string): TopicRouteData | null {
    return this.topicRouteTable.get(topic) ?? null;
  }

  /** Every topic with a kept route. */
  topicsWithRoute(): string[] {
    return [...this.topicRouteTable.keys()];
  }

  /**
   * Asks the name servers for `topic`'s route (GET_ROUTEINFO_BY_TOPIC, round robin over the name servers, the
   * next one on a transport failure) and keeps it; members hear about a change through onTopicRouteChanged.
   * Resolves with the route, or null when the name servers do not know the topic (TOPIC_NOT_EXIST; a route kept
   * from before stays). With `defaultTopic` the template topic's route is used instead, its queue counts clamped
   * (RocketMQ's route for a topic the broker will auto-create on the first send). Rejects with MQClientError when
   * no name server answers. Concurrent lookups of one topic share one request.
   */
  updateTopicRoute(topic: string, options: { defaultTopic?: DefaultTopicRoute; timeoutMs?: number } = {}): Promise<TopicRouteData | null> {
    const key = options.defaultTopic === undefined ? topic : `${topic}\u0000${options.defaultTopic.key}\u0000${options.defaultTopic.queueNums}`;
    const pending = this.routeLookups.get(key);
    if (pending !== undefined) return pending;
    const lookup = this.lookupRoute(topic, options).finally(() => this.routeLookups.delete(key));
    this.routeLookups.set(key, lookup);
    return lookup;
  }

  private async lookupRoute(topic: string, options: { defaultTopic?: DefaultTopicRoute; timeoutMs?: number }): Promise<TopicRouteData | null> {
    const timeoutMs = options.timeoutMs ?? this.config.mqClientApiTimeoutMs;
    if (options.defaultTopic === undefined) {
      const route = await this.fetchRoute(topic, timeoutMs);
      return route === null ? null : this.keepRoute(topic, route);
    }
    const template = await this.fetchRoute(options.defaultTopic.key, timeoutMs);
    if (template === null) return null;
    const route = normalizeRoute(template);
    for (const queueData of route.queueDatas) {
      const queueNums = Math.min(options.defaultTopic.queueNums, queueData.readQueueNums);
      queueData.readQueueNums = queueNums;
      queueData.writeQueueNums = queueNums;
    }
    return this.keepRoute(topic, route);
  }

  private async fetchRoute(topic: string, timeoutMs: number): Promise<TopicRouteData | null> {
    const { response, address } = await this.invokeNamesrv(routeRequest(topic), timeoutMs, { topic });
    return readRouteResponse(response, { topic, namesrvAddr: address });
  }

  private keepRoute(topic: string, fetched: TopicRouteData): TopicRouteData {
    const route = normalizeRoute(fetched);
    const old = this.topicRouteTable.get(topic);
    if (old !== undefined && routesEqual(old, route)) return old;
    let newBrokerAddress = false;
    for (const brokerData of route.brokerDatas) {
      const addresses = new Map<number, string>();
      const known = this.brokerAddrTable.get(brokerData.brokerName);
      for (const [id, address] of Object.entries(brokerData.brokerAddrs)) {
        const brokerId = Number(id);
        if (!Number.isSafeInteger(brokerId)) continue;
        addresses.set(brokerId, address);
        if (known?.get(brokerId) !== address) newBrokerAddress = true;
      }
      this.brokerAddrTable.set(brokerData.brokerName, addresses);
    }
    // A broker (or a restarted one at a new address) must learn this client's groups now, not at the next 30 s
    // heartbeat: until then it answers GET_CONSUMER_LIST_BY_GROUP with "no consumer" and rebalance assigns nothing.
    if (newBrokerAddress && this.consumers.size > 0 && this.state === 'running') void this.sendHeartbeatToAllBrokers();
    this.topicRouteTable.set(topic, route);
    this.logger.info(`client ${this.clientId}: route of ${topic} ${old === undefined ? 'learned' : 'changed'}`,
      { topic, brokers: route.brokerDatas.map((b) => b.brokerName).join(',') });
    for (const [group, member] of this.producers) this.notifyRouteChanged(`producer ${group}`, () => member.onTopicRouteChanged?.(topic, route));
    for (const [group, entry] of this.consumers) {
      this.notifyRouteChanged(`consumer ${group}`, () => entry.member.onTopicRouteChanged?.(topic, route));
    }
    return route;
  }

  private notifyRouteChanged(who: string, call: () => void): void {
    try {
      call();
    } catch (error) {
      this.logger.error(`client ${this.clientId}: ${who} failed to take a route change: ${(error as Error).message}`, { error: String(error) });
    }
  }

  /** Every topic some member uses. */
  topicsInUse(): Set<string> {
    const topics = new Set<string>();
    for (const member of this.producers.values()) for (const topic of member.topicsInUse()) topics.add(topic);
    for (const { member } of this.consumers.values()) {
      if (member.topicsInUse !== undefined) {
        for (const topic of member.topicsInUse()) topics.add(topic);
      } else {
        for (const subscription of this.consumerDataOf(member)?.subscriptionDataSet ?? []) topics.add(subscription.topic);
      }
    }
    return topics;
  }

  /** Refreshes the route of every topic in use (the 30 s timer). Failures are logged. */
  async refreshRoutesInUse(): Promise<void> {
    await Promise.all([...this.topicsInUse()].map(async (topic) => {
      try {
        await this.updateTopicRoute(topic);
      } catch (error) {
        this.logger.warn(`client ${this.clientId}: route refresh of ${topic} failed: ${(error as Error).message}`, { topic });
      }
    }));
  }

  // ---- brokers ----------------------------------------------------------------------------------------------------

  /** The master address of `brokerName` (where producers send), from the kept routes. */
  findBrokerAddressInPublish(brokerName: string): string | undefined {
    return this.brokerAddrTable.get(brokerName)?.get(MASTER_BROKER_ID);
  }

  /**
   * An address of `brokerName` for pulling (MQClientInstance.findBrokerAddressInSubscribe): `brokerId` if known,
   * else brokerId + 1 for a slave, else (unless `onlyThisBroker`) any address of the broker.
   */
  findBrokerAddressInSubscribe(brokerName: string, brokerId: number, onlyThisBroker: boolean): { address: string; slave: boolean } | undefined {
    const addresses = this.brokerAddrTable.get(brokerName);
    if (addresses === undefined || addresses.size === 0) return undefined;
    const slave = brokerId !== MASTER_BROKER_ID;
    let address = addresses.get(brokerId);
    if (address === undefined && slave) address = addresses.get(brokerId + 1);
    if (address !== undefined) return { address, slave };
    if (onlyThisBroker) return undefined;
    const [firstId, firstAddress] = addresses.entries().next().value as [number, string];
    return { address: firstAddress, slave: firstId !== MASTER_BROKER_ID };
  }

  /** One broker of `topic`'s route (its master if it has one), chosen at random; undefined without a route. */
  findBrokerAddrByTopic(topic: string): string | undefined {
    const route = this.topicRouteTable.get(topic);
    if (route === undefined || route.brokerDatas.length === 0) return undefined;
    const brokerData = route.brokerDatas[Math.floor(Math.random() * route.brokerDatas.length)]!;
    const addresses = brokerData.brokerAddrs;
    return addresses[String(MASTER_BROKER_ID)] ?? Object.values(addresses)[0];
  }

  /** brokerName → brokerId → address, from the kept routes (a copy). */
  brokerAddresses(): Map<string, Map<number, string>> {
    return new Map([...this.brokerAddrTable].map(([name, addresses]) => [name, new Map(addresses)]));
  }

  /**
   * The client ids of `group`'s live members (GET_CONSUMER_LIST_BY_GROUP to a broker of `topic`, fetching the route
   * first if needed). Rejects with MQBrokerError (e.g. SYSTEM_ERROR when the group has no live member) or
   * MQClientError.
   */
  async findConsumerIdList(topic: string, group: string): Promise<string[]> {
    let brokerAddr = this.findBrokerAddrByTopic(topic);
    if (brokerAddr === undefined) {
      await this.updateTopicRoute(topic);
      brokerAddr = this.findBrokerAddrByTopic(topic);
    }
    if (brokerAddr === undefined) {
      throw new MQClientError(`no broker known for topic ${topic}`, { topic, code: ClientErrorCode.NOT_FOUND_TOPIC_EXCEPTION });
    }
    const context = { topic, brokerAddr };
    const response = await this.invokeBroker(brokerAddr, consumerListRequest(group), this.config.mqClientApiTimeoutMs, context);
    return readConsumerListResponse(response, brokerAddr, context);
  }

  /**
   * Sends a request to a broker (or any address). A response with any code resolves; a transport failure rejects
   * with MQClientError (code CONNECT_BROKER_EXCEPTION, ACCESS_BROKER_TIMEOUT or SYSTEM_BUSY, retriable, cause = the
   * remoting error) carrying `context`.
   */
  async invokeBroker(brokerAddr: string, request: RemotingCommand, timeoutMs: number, context: ErrorContext = {}): Promise<RemotingCommand> {
    const started = performance.now();
    try {
      return await this.invokeWithin(brokerAddr, request, timeoutMs);
    } catch (error) {
      throw wrapRemotingError(error, `request code ${request.code} to ${brokerAddr}`, {
        ...context, brokerAddr, elapsedMs: context.elapsedMs ?? performance.now() - started,
      });
    }
  }

  /** Sends a oneway request; resolves once written. Transport failures as invokeBroker. */
  async invokeBrokerOneway(brokerAddr: string, request: RemotingCommand, context: ErrorContext = {}): Promise<void> {
    try {
      await this.remoting.invokeOneway(brokerAddr, request);
    } catch (error) {
      throw wrapRemotingError(error, `oneway request code ${request.code} to ${brokerAddr}`, { ...context, brokerAddr });
    }
  }

  /**
   * Registers a processor for another broker → client request code (RESET_CONSUMER_CLIENT_OFFSET,
   * CONSUME_MESSAGE_DIRECTLY...). Codes without a processor are answered REQUEST_CODE_NOT_SUPPORTED.
   */
  registerProcessor(code: number, processor: RequestProcessor): void {
    this.remoting.registerProcessor(code, processor);
  }

  // ---- heartbeats -------------------------------------------------------------------------------------------------

  /** The HEART_BEAT body: this client id, every producer group, every consumer group's data. */
  heartbeatData(): HeartbeatData {
    const consumerDataSet: ConsumerData[] = [];
    for (const { member } of this.consumers.values()) {
      const data = this.consumerDataOf(member);
      if (data !== null) consumerDataSet.push(data);
    }
    return {
      clientID: this.clientId,
      producerDataSet: [...this.producers.keys()].map((groupName) => ({ groupName })),
      consumerDataSet,
    };
  }

  private consumerDataOf(member: ConsumerMember): ConsumerData | null {
    try {
      return member.consumerData();
    } catch (error) {
      this.logger.error(`client ${this.clientId}: consumerData() threw: ${(error as Error).message}`, { error: String(error) });
      return null;
    }
  }

  /**
   * Sends HEART_BEAT to every known broker master, and to every slave too when a consumer is registered. Calls
   * made while one runs share the next run. Failures are logged, never thrown; resolves when all have answered.
   */
  sendHeartbeatToAllBrokers(): Promise<void> {
    if (this.heartbeatQueued !== null) return this.heartbeatQueued;
    const run = this.heartbeatChain.then(() => {
      this.heartbeatQueued = null;
      return this.heartbeatOnce();
    });
    this.heartbeatQueued = run;
    this.heartbeatChain = run.catch(() => undefined);
    return this.track(run);
  }

  private async heartbeatOnce(): Promise<void> {
    if (this.state !== 'running' && this.state !== 'created') return;
    const data = this.heartbeatData();
    if (data.producerDataSet.length === 0 && data.consumerDataSet.length === 0) return;
    const consumerEmpty = data.consumerDataSet.length === 0;
    const targets: Array<{ brokerName: string; address: string }> = [];
    for (const [brokerName, addresses] of this.brokerAddrTable) {
      for (const [brokerId, address] of addresses) {
        if (consumerEmpty && brokerId !== MASTER_BROKER_ID) continue;
        targets.push({ brokerName, address });
      }
    }
    await Promise.all(targets.map(async ({ brokerName, address }) => {
      try {
        const response = await this.invokeWithin(address, heartbeatRequest(data), this.config.mqClientApiTimeoutMs);
        if (response.code !== ResponseCode.SUCCESS) {
          this.logger.warn(`client ${this.clientId}: heartbeat to ${brokerName} (${address}) answered ${response.code}: ${response.remark ?? ''}`,
            { brokerName, address, code: response.code });
        }
      } catch (error) {
        if (this.state === 'running') {
          this.logger.warn(`client ${this.clientId}: heartbeat to ${brokerName} (${address}) failed: ${(error as Error).message}`,
            { brokerName, address });
        }
      }
    }));
  }

  /** Forgets broker addresses no kept route mentions any more (MQClientInstance.cleanOfflineBroker). */
  cleanOfflineBrokers(): void {
    const live = new Set<string>();
    for (const route of this.topicRouteTable.values()) {
      for (const brokerData of route.brokerDatas) for (const address of Object.values(brokerData.brokerAddrs)) live.add(address);
    }
    for (const [brokerName, addresses] of this.brokerAddrTable) {
      for (const [brokerId, address] of addresses) if (!live.has(address)) addresses.delete(brokerId);
      if (addresses.size === 0) this.brokerAddrTable.delete(brokerName);
    }
  }

  private async unregisterClient(group: { producerGroup?: string; consumerGroup?: string }): Promise<void> {
    const targets: string[] = [];
    for (const addresses of this.brokerAddrTable.values()) for (const address of addresses.values()) targets.push(address);
    await Promise.all([...new Set(targets)].map(async (address) => {
      try {
        const response = await this.invokeWithin(address, unregisterClientRequest(this.clientId, group), this.config.mqClientApiTimeoutMs);
        if (response.code !== ResponseCode.SUCCESS) {
          this.logger.warn(`client ${this.clientId}: UNREGISTER_CLIENT at ${address} answered ${response.code}: ${response.remark ?? ''}`, { address });
        }
      } catch (error) {
        this.logger.warn(`client ${this.clientId}: UNREGISTER_CLIENT at ${address} failed: ${(error as Error).message}`, { address, ...group });
      }
    }));
  }

  // ---- rebalance and offsets ----------------------------------------------------------------------------------------

  /**
   * Asks every consumer to rebalance now (RocketMQ's rebalanceImmediately). If a round is running, one more round
   * follows it; rounds never overlap.
   */
  rebalanceImmediately(reason: RebalanceReason = { kind: 'manual' }): Promise<void> {
    return this.track(this.runRebalance(reason));
  }

  private async runRebalance(reason: RebalanceReason): Promise<void> {
    if (this.rebalanceRunning) {
      this.rebalanceAgain = reason;
      return;
    }
    this.rebalanceRunning = true;
    try {
      let next: RebalanceReason | null = reason;
      for (let round = 0; round < REBALANCE_ROUNDS_MAX && next !== null && this.state === 'running'; round++) {
        const current: RebalanceReason = next;
        this.rebalanceAgain = null;
        for (const [group, { member }] of [...this.consumers]) {
          try {
            await member.doRebalance(current);
          } catch (error) {
            this.logger.error(`client ${this.clientId}: rebalance of ${group} failed: ${(error as Error).message}`, { group, error: String(error) });
          }
        }
        next = this.rebalanceAgain;
      }
    } finally {
      this.rebalanceRunning = false;
    }
  }

  private async persistAllConsumerOffsets(): Promise<void> {
    for (const [group, { member }] of [...this.consumers]) {
      try {
        await member.persistConsumerOffset?.();
      } catch (error) {
        this.logger.warn(`client ${this.clientId}: offset persistence of ${group} failed: ${(error as Error).message}`, { group });
      }
    }
  }

  // ---- broker → client requests ------------------------------------------------------------------------------------

  private onNotifyConsumerIdsChanged(request: RemotingCommand, channel: RemotingChannel): null {
    let consumerGroup: string;
    try {
      consumerGroup = decodeCustomHeader(NotifyConsumerIdsChangedRequestHeader, request.extFields).consumerGroup;
    } catch (error) {
      this.logger.warn(`client ${this.clientId}: bad NOTIFY_CONSUMER_IDS_CHANGED from ${channel.remoteAddress}: ${(error as Error).message}`);
      return null;
    }
    this.logger.info(`client ${this.clientId}: consumer ids of ${consumerGroup} changed (told by ${channel.remoteAddress}), rebalancing`,
      { consumerGroup, brokerAddr: channel.remoteAddress });
    void this.rebalanceImmediately({ kind: 'notify', consumerGroup, brokerAddr: channel.remoteAddress });
    return null;
  }

  private onGetConsumerRunningInfo(request: RemotingCommand): RemotingCommand {
    const header = decodeCustomHeader(GetConsumerRunningInfoRequestHeader, request.extFields);
    const entry = this.consumers.get(header.consumerGroup);
    if (entry === undefined) {
      return responseCommand(request, ResponseCode.SYSTEM_ERROR, `The Consumer Group <${header.consumerGroup}> not exist in this consumer`);
    }
    const data = this.consumerDataOf(entry.member);
    const extra = entry.member.runningInfo?.() ?? {};
    const properties: Record<string, string> = {
      [ConsumerRunningInfoProperty.NAMESERVER_ADDR]: this.config.namesrvAddr.map((address) => `${address};`).join(''),
      [ConsumerRunningInfoProperty.CONSUME_TYPE]: data?.consumeType ?? 'CONSUME_PASSIVELY',
      [ConsumerRunningInfoProperty.CLIENT_VERSION]: CLIENT_VERSION_DESC,
      [ConsumerRunningInfoProperty.CONSUMER_START_TIMESTAMP]: String(entry.registeredAtMs),
      ...extra.properties,
    };
    // fastjson's key order: fields alphabetically.
    const info = {
      mqTable: extra.mqTable ?? {},
      properties: Object.fromEntries(Object.entries(properties).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))),
      statusTable: extra.statusTable ?? {},
      subscriptionSet: data?.subscriptionDataSet ?? [],
    };
    return responseCommand(request, ResponseCode.SUCCESS, null, {}, Buffer.from(JSON.stringify(info), 'utf8'));
  }

  private onCheckTransactionState(request: RemotingCommand, channel: RemotingChannel): null {
    try {
      const header = decodeCustomHeader(CheckTransactionStateRequestHeader, request.extFields);
      if (request.body === null) throw new Error('no body');
      const message = decodeMessageExt(request.body);
      const group = message.properties.PGROUP;
      const member = group === undefined ? undefined : this.producers.get(group);
      if (member?.checkTransactionState === undefined) {
        this.logger.debug(`client ${this.clientId}: CHECK_TRANSACTION_STATE for group ${group ?? '(none)'} has no transaction producer here`);
        return null;
      }
      member.checkTransactionState({ brokerAddr: channel.remoteAddress, header, message });
    } catch (error) {
      this.logger.warn(`client ${this.clientId}: CHECK_TRANSACTION_STATE from ${channel.remoteAddress} failed: ${(error as Error).message}`);
    }
    return null;
  }

  // ---- internals ----------------------------------------------------------------------------------------------------

  /**
   * Sends `request` to the current name server, moving on to the next one (round robin) after a transport failure,
   * each tried at most once within `timeoutMs`. The one that answered stays current.
   */
  private async invokeNamesrv(request: RemotingCommand, timeoutMs: number, context: ErrorContext): Promise<{ response: RemotingCommand; address: string }> {
    const list = this.config.namesrvAddr;
    const started = performance.now();
    let lastError: unknown = null;
    for (let i = 0; i < list.length; i++) {
      const index = (this.namesrvIndex + i) % list.length;
      const address = list[index]!;
      const remainingMs = Math.floor(timeoutMs - (performance.now() - started));
      if (remainingMs <= 0) break;
      try {
        const response = await this.invokeWithin(address, request, remainingMs);
        this.namesrvIndex = index;
        return { response, address };
      } catch (error) {
        lastError = error;
        this.logger.debug(`client ${this.clientId}: name server ${address} failed: ${(error as Error).message}`, { address });
      }
    }
    const reason = lastError instanceof Error ? lastError.message : `no answer within ${timeoutMs} ms`;
    throw new MQClientError(`no name server answered request code ${request.code}: ${reason}`, {
      ...context, namesrvAddr: list.join(';'), elapsedMs: performance.now() - started, code: ClientErrorCode.NO_NAME_SERVER_EXCEPTION,
      cause: lastError ?? undefined,
    });
  }

  /**
   * A request whose `timeoutMs` covers the connect as well (RemotingClient bounds the connect by connectTimeoutMs
   * on its own): a send never outlives its budget because a broker is slow to accept. A connect cut short keeps
   * going in the background and its connection is used by later requests.
   */
  private async invokeWithin(address: string, request: RemotingCommand, timeoutMs: number): Promise<RemotingCommand> {
    const started = performance.now();
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new RemotingConnectionError(address, `not connected within ${Math.round(timeoutMs)} ms`)), timeoutMs);
    });
    let channel: RemotingChannel;
    try {
      channel = await Promise.race([this.remoting.channel(address), deadline]);
    } finally {
      clearTimeout(timer);
    }
    const remainingMs = Math.floor(timeoutMs - (performance.now() - started));
    return channel.request(request, Math.max(1, remainingMs));
  }

  private checkOpen(): void {
    if (this.state === 'stopping' || this.state === 'stopped') throw new MQClientError(`client instance ${this.clientId} is shut down`);
  }

  /** Runs `task` every `intervalMs` after `initialDelayMs` (fixed delay: a slow run postpones the next). */
  private schedule(name: string, initialDelayMs: number, intervalMs: number, task: () => Promise<void>): void {
    const run = (): void => {
      this.timers.delete(name);
      if (this.state !== 'running') return;
      void this.track(task().catch((error: unknown) => {
        this.logger.error(`client ${this.clientId}: ${name} task failed: ${(error as Error).message}`, { error: String(error) });
      })).finally(() => {
        if (this.state !== 'running') return;
        const timer = setTimeout(run, intervalMs);
        timer.unref();
        this.timers.set(name, timer);
      });
    };
    const timer = setTimeout(run, initialDelayMs);
    timer.unref();
    this.timers.set(name, timer);
  }

  /** Keeps `work` in the background set until it settles (shutdown waits for it). */
  private track<T>(work: Promise<T>): Promise<T> {
    this.background.add(work);
    void work.then(() => this.background.delete(work), () => this.background.delete(work));
    return work;
  }
}
