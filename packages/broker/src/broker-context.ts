import type { Clock, Logger } from '@tern/common';
import type { HostAddress } from '@tern/protocol';
import type { MessageStore } from '@tern/store';
import type { BrokerConfig } from './config/broker-config.js';
import type { TopicConfigManager } from './topic/topic-config-manager.js';
import type { SubscriptionGroupManager } from './subscription/subscription-group-manager.js';
import type { ConsumerOffsetManager } from './offset/consumer-offset-manager.js';
import type { ConsumerManager } from './client/consumer-manager.js';
import type { ProducerManager } from './client/producer-manager.js';
import type { RebalanceLockManager } from './client/rebalance-lock-manager.js';
import type { PullHoldService } from './longpoll/pull-hold-service.js';

/** What request processors share. The broker composition root builds it; processors get nothing else. */
export interface BrokerContext {
  config: BrokerConfig;
  store: MessageStore;
  topics: TopicConfigManager;
  groups: SubscriptionGroupManager;
  offsets: ConsumerOffsetManager;
  consumers: ConsumerManager;
  producers: ProducerManager;
  locks: RebalanceLockManager;
  pullHold: PullHoldService;
  /** messageDelayLevel, parsed once. */
  delayLevelsMs: number[];
  /** The address clients use for this broker ("ip:port"), known once the server listens. */
  brokerAddr(): string;
  storeHost(): HostAddress;
  /** Registers with every name server now; resolves when all answered (or failed, logged). */
  registerWithNameServers(): Promise<void>;
  logger: Logger;
  clock: Clock;
}
