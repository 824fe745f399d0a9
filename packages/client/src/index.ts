// Public API: what applications use.
export { Producer, checkProducerGroup, DEFAULT_PRODUCER_GROUP, PRODUCER_GROUP_MAX_LENGTH } from './producer.js';
export type { ProducerOptions, ResolvedProducerOptions, SendOptions, SendCallback } from './producer.js';
export type { SendResult, SendStatus } from './send-message.js';
export {
  Message, validateMessage, validateTopicForSend, decodeMessages, decodeMessageExt, MESSAGE_SIZE_MAX_BYTES_DEFAULT,
  AUTO_CREATE_TOPIC_KEY_TOPIC, NOT_ALLOWED_SEND_TOPICS, RETRY_GROUP_TOPIC_PREFIX, RESERVED_PROPERTY_NAMES,
} from './message.js';
export type { MessageBody, MessageOptions, MessageInit, MessageExt, DecodeMessagesOptions } from './message.js';
export { selectMessageQueueByHash, selectMessageQueueByRandom, selectByShardingKey, javaHashCodeOf } from './queue-selector.js';
export type { MessageQueueSelector } from './queue-selector.js';
export {
  MQClientError, MQBrokerError, InvalidMessageError, InvalidArgumentError, RemotingTimeoutError, RemotingConnectionError,
  RemotingBusyError, ClientErrorCode, NO_ERROR_CODE, isRetriableCode, describeContext, wrapRemotingError,
} from './errors.js';
export type { ErrorContext, MQClientErrorOptions } from './errors.js';
export {
  resolveNamesrvAddr, parseNamesrvAddr, clientConfig, buildClientId, localIpv4, POLL_NAME_SERVER_INTERVAL_MS_DEFAULT,
  HEARTBEAT_BROKER_INTERVAL_MS_DEFAULT, PERSIST_CONSUMER_OFFSET_INTERVAL_MS_DEFAULT, REBALANCE_INTERVAL_MS_DEFAULT,
  MQ_CLIENT_API_TIMEOUT_MS_DEFAULT, CONNECT_TIMEOUT_MS_DEFAULT,
} from './client-config.js';
export type { ClientOptions, ClientConfig } from './client-config.js';

// Client internals other client components (consumers, admin) build on.
export { ClientInstance, ConsumerRunningInfoProperty, CLIENT_VERSION_DESC } from './client-instance.js';
export type {
  ProducerMember, ConsumerMember, RebalanceReason, TransactionCheckRequest, ConsumerRunningInfoInput, DefaultTopicRoute,
} from './client-instance.js';
export { TopicPublishInfo, subscribeQueues, normalizeRoute, routesEqual, messageQueueKey, isReadable, isWriteable, Perm, MASTER_BROKER_ID } from './route.js';
export type { MessageQueue } from './route.js';
export { MQFaultStrategy, LatencyFaultTolerance, LATENCY_MAX_MS_DEFAULT, NOT_AVAILABLE_DURATION_MS_DEFAULT, ISOLATION_LATENCY_MS } from './fault-strategy.js';
export type { FaultStrategyOptions } from './fault-strategy.js';
export { encodeBatchMessages, BATCH_ENTRY_FIXED_BYTES } from './message-batch.js';
export type { BatchEntry } from './message-batch.js';
export { prepareMessage, prepareBatch, buildSendRequest, readSendResponse, nextUniqKey } from './send-message.js';
export type { PreparedSend, PrepareSettings, SendRequestSettings } from './send-message.js';
export {
  routeRequest, readRouteResponse, heartbeatRequest, unregisterClientRequest, consumerListRequest, readConsumerListResponse,
} from './client-api.js';
export {
  RemoteBrokerOffsetStore, LocalFileOffsetStore, mqKey, defaultOffsetStoreDir, writeFileAtomically, OFFSET_NOT_FOUND, OFFSET_READ_FAILED,
} from './consumer/offset-store.js';
export type {
  OffsetStore, ReadOffsetType, OffsetStoreClient, RemoteBrokerOffsetStoreOptions, LocalFileOffsetStoreOptions,
} from './consumer/offset-store.js';
export {
  allocateAveragely, allocateAveragelyByCircle, allocateConsistentHash, allocateConsistentHashWith, md5RingHash, messageQueueToString,
  compareMessageQueues, sortAllocationInput, ALLOCATE_STRATEGY_NAMES,
} from './consumer/allocate.js';
export type { AllocateMessageQueueStrategy, RingHashFunction } from './consumer/allocate.js';
// Pull consumer (only names unlikely to clash with the push consumer's exports).
export { PullConsumer } from './consumer/pull-consumer.js';
export type { PullConsumerOptions, ResolvedPullConsumerOptions, CommitOffsets } from './consumer/pull-consumer.js';
export { checkConsumerGroup, DEFAULT_CONSUMER_GROUP } from './consumer/consumer-options.js';
export {
  PushConsumer, parseConsumeTimestamp, resolvePushConsumerOptions, CLIENT_INNER_PRODUCER_GROUP,
  BROKER_SUSPEND_MAX_TIME_MS, CONSUMER_TIMEOUT_WHEN_SUSPEND_MS, PULL_DELAY_WHEN_EXCEPTION_MS, PULL_DELAY_WHEN_FLOW_CONTROL_MS,
} from './consumer/push-consumer.js';
export type { PushConsumerOptions, ResolvedPushConsumerOptions } from './consumer/push-consumer.js';
export { ConsumeConcurrentlyStatus, ConsumeOrderlyStatus } from './consumer/push-consumer-types.js';
export type {
  ConsumeConcurrentlyContext, MessageListenerConcurrently, ConsumeOrderlyContext, MessageListenerOrderly, MessageListener,
  ConsumeMessageService, ConsumeServiceHost,
} from './consumer/push-consumer-types.js';
export { ProcessQueue, ConsumeExecutor, Mutex } from './consumer/push-consumer-process-queue.js';
export type { ProcessQueueInfo } from './consumer/push-consumer-process-queue.js';
export { PullSysFlag, buildPullSysFlag, buildSubscriptionData, SUB_ALL } from './consumer/pull-api.js';
export type { PullStatus, PullClient } from './consumer/pull-api.js';
export { PullAPIWrapper } from './consumer/push-consumer-pull-api.js';
export type { PullResult, PullKernelRequest } from './consumer/push-consumer-pull-api.js';
export { RebalanceImpl, LOCK_REQUEST_TIMEOUT_MS } from './consumer/rebalance-impl.js';
export type { MessageModel, ConsumeType, PullRequest, RebalanceClient, QueueEntry } from './consumer/rebalance-impl.js';
export { RebalancePushImpl } from './consumer/rebalance-push.js';
export type { ConsumeFromWhere, RebalancePushHost } from './consumer/rebalance-push.js';
