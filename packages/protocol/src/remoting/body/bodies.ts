import { type BodyOf, jsonShape, jsonBody } from './json-body.js';

/*
 * The JSON bodies of the requests and responses Tern's broker and name server exchange (remoting.md §3, §7.3, §7.9).
 * Each is a codec object and a type of the same name: `TopicRouteData.encode(route)`, `HeartbeatData.decode(body)`.
 */

// ---- heartbeat (HEART_BEAT 34, request body) -------------------------------------------------------------------

const SubscriptionDataShape = jsonShape.object({
  topic: jsonShape.string,
  /** The raw expression (`TagA || TagB`, `*`, or SQL92). */
  subString: jsonShape.string,
  classFilterMode: jsonShape.withDefault(jsonShape.boolean, false),
  tagsSet: jsonShape.withDefault(jsonShape.array(jsonShape.string), []),
  /** Java String.hashCode of each tag. */
  codeSet: jsonShape.withDefault(jsonShape.array(jsonShape.int), []),
  subVersion: jsonShape.withDefault(jsonShape.int, 0),
  /** Absent = TAG; `SQL92` for SQL filters. */
  expressionType: jsonShape.optional(jsonShape.string),
});
export type SubscriptionData = BodyOf<typeof SubscriptionDataShape>;

const ConsumerDataShape = jsonShape.object({
  groupName: jsonShape.string,
  /** CONSUME_ACTIVELY (pull) | CONSUME_PASSIVELY (push). */
  consumeType: jsonShape.string,
  /** CLUSTERING | BROADCASTING. */
  messageModel: jsonShape.string,
  /** CONSUME_FROM_LAST_OFFSET | CONSUME_FROM_FIRST_OFFSET | CONSUME_FROM_TIMESTAMP (+ legacy values). */
  consumeFromWhere: jsonShape.string,
  subscriptionDataSet: jsonShape.withDefault(jsonShape.array(SubscriptionDataShape), []),
  unitMode: jsonShape.withDefault(jsonShape.boolean, false),
});
export type ConsumerData = BodyOf<typeof ConsumerDataShape>;

const ProducerDataShape = jsonShape.object({ groupName: jsonShape.string });
export type ProducerData = BodyOf<typeof ProducerDataShape>;

export const HeartbeatData = jsonBody(
  'HeartbeatData',
  jsonShape.object({
    clientID: jsonShape.string,
    producerDataSet: jsonShape.withDefault(jsonShape.array(ProducerDataShape), []),
    consumerDataSet: jsonShape.withDefault(jsonShape.array(ConsumerDataShape), []),
  }),
);
export type HeartbeatData = BodyOf<typeof HeartbeatData.shape>;

// ---- routes (GET_ROUTEINFO_BY_TOPIC 105 response body) ---------------------------------------------------------

const QueueDataShape = jsonShape.object({
  brokerName: jsonShape.string,
  readQueueNums: jsonShape.int,
  writeQueueNums: jsonShape.int,
  /** 4 READ | 2 WRITE | 1 INHERIT | 8 PRIORITY. */
  perm: jsonShape.int,
  topicSysFlag: jsonShape.withDefault(jsonShape.int, 0),
});
export type QueueData = BodyOf<typeof QueueDataShape>;

const BrokerDataShape = jsonShape.object({
  cluster: jsonShape.string,
  brokerName: jsonShape.string,
  /** brokerId (as a string; "0" = master) → "ip:port". */
  brokerAddrs: jsonShape.map(jsonShape.string),
});
export type BrokerData = BodyOf<typeof BrokerDataShape>;

/**
 * Encodes as standard JSON with fastjson's key order, e.g. (remoting.md §7.3)
 * `{"brokerDatas":[{"brokerAddrs":{"0":"127.0.0.1:10911"},"brokerName":"broker-a","cluster":"DefaultCluster"}],
 * "filterServerTable":{},"queueDatas":[{"brokerName":"broker-a","perm":6,"readQueueNums":4,"topicSysFlag":0,
 * "writeQueueNums":4}]}`. Arrays keep the caller's order: sort them (by brokerName) before encoding for stable output.
 * Decoding accepts fastjson's `{0:"addr"}` form.
 */
export const TopicRouteData = jsonBody(
  'TopicRouteData',
  jsonShape.object({
    /** `brokerA:8;brokerB:8`, from KV namespace ORDER_TOPIC_CONFIG. */
    orderTopicConf: jsonShape.optional(jsonShape.string),
    queueDatas: jsonShape.withDefault(jsonShape.array(QueueDataShape), []),
    brokerDatas: jsonShape.withDefault(jsonShape.array(BrokerDataShape), []),
    /** broker address → filter server addresses. */
    filterServerTable: jsonShape.withDefault(jsonShape.map(jsonShape.array(jsonShape.string)), {}),
  }),
);
export type TopicRouteData = BodyOf<typeof TopicRouteData.shape>;

// ---- broker registration (REGISTER_BROKER 103 request body) ----------------------------------------------------

const TopicConfigShape = jsonShape.object({
  topicName: jsonShape.string,
  readQueueNums: jsonShape.withDefault(jsonShape.int, 16),
  writeQueueNums: jsonShape.withDefault(jsonShape.int, 16),
  perm: jsonShape.withDefault(jsonShape.int, 6),
  /** SINGLE_TAG | MULTI_TAG. */
  topicFilterType: jsonShape.withDefault(jsonShape.string, 'SINGLE_TAG'),
  topicSysFlag: jsonShape.withDefault(jsonShape.int, 0),
  order: jsonShape.withDefault(jsonShape.boolean, false),
});
export type TopicConfig = BodyOf<typeof TopicConfigShape>;

const DataVersionShape = jsonShape.object({
  timestamp: jsonShape.withDefault(jsonShape.int, 0),
  counter: jsonShape.withDefault(jsonShape.int, 0),
});
export type DataVersion = BodyOf<typeof DataVersionShape>;

const TopicConfigSerializeWrapperShape = jsonShape.object({
  /** topic name → config. */
  topicConfigTable: jsonShape.withDefault(jsonShape.map(TopicConfigShape), {}),
  dataVersion: jsonShape.withDefault(DataVersionShape, { timestamp: 0, counter: 0 }),
});
export const TopicConfigSerializeWrapper = jsonBody('TopicConfigSerializeWrapper', TopicConfigSerializeWrapperShape);
export type TopicConfigSerializeWrapper = BodyOf<typeof TopicConfigSerializeWrapperShape>;

/** REGISTER_BROKER body when the header's `compressed` is false (Java's default). */
export const RegisterBrokerBody = jsonBody(
  'RegisterBrokerBody',
  jsonShape.object({
    topicConfigSerializeWrapper: jsonShape.withDefault(TopicConfigSerializeWrapperShape, {
      topicConfigTable: {},
      dataVersion: { timestamp: 0, counter: 0 },
    }),
    filterServerList: jsonShape.withDefault(jsonShape.array(jsonShape.string), []),
  }),
);
export type RegisterBrokerBody = BodyOf<typeof RegisterBrokerBody.shape>;

// ---- membership, locks, admin ------------------------------------------------------------------------------------

/** GET_CONSUMER_LIST_BY_GROUP (38) response body. */
export const ConsumerListBody = jsonBody('ConsumerListBody', jsonShape.object({ consumerIdList: jsonShape.withDefault(jsonShape.array(jsonShape.string), []) }));
export type ConsumerListBody = BodyOf<typeof ConsumerListBody.shape>;

const MessageQueueShape = jsonShape.object({ topic: jsonShape.string, brokerName: jsonShape.string, queueId: jsonShape.int });
export const MessageQueue = jsonBody('MessageQueue', MessageQueueShape);
export type MessageQueue = BodyOf<typeof MessageQueueShape>;

const LockBatchRequestShape = jsonShape.object({
  consumerGroup: jsonShape.string,
  clientId: jsonShape.string,
  /** RocketMQ 5.x: do not forward to the other brokers of the group. */
  onlyThisBroker: jsonShape.optional(jsonShape.boolean),
  mqSet: jsonShape.withDefault(jsonShape.array(MessageQueueShape), []),
});

/** LOCK_BATCH_MQ (41) request body. */
export const LockBatchRequestBody = jsonBody('LockBatchRequestBody', LockBatchRequestShape);
export type LockBatchRequestBody = BodyOf<typeof LockBatchRequestShape>;

/** UNLOCK_BATCH_MQ (42) request body (same fields as the lock request). */
export const UnlockBatchRequestBody = jsonBody('UnlockBatchRequestBody', LockBatchRequestShape);
export type UnlockBatchRequestBody = BodyOf<typeof LockBatchRequestShape>;

/** LOCK_BATCH_MQ response body: the queues now locked by the requester. */
export const LockBatchResponseBody = jsonBody('LockBatchResponseBody', jsonShape.object({ lockOKMQSet: jsonShape.withDefault(jsonShape.array(MessageQueueShape), []) }));
export type LockBatchResponseBody = BodyOf<typeof LockBatchResponseBody.shape>;

/** GET_BROKER_CLUSTER_INFO (106) response body. */
export const ClusterInfo = jsonBody(
  'ClusterInfo',
  jsonShape.object({
    /** brokerName → BrokerData. */
    brokerAddrTable: jsonShape.withDefault(jsonShape.map(BrokerDataShape), {}),
    /** clusterName → brokerNames. */
    clusterAddrTable: jsonShape.withDefault(jsonShape.map(jsonShape.array(jsonShape.string)), {}),
  }),
);
export type ClusterInfo = BodyOf<typeof ClusterInfo.shape>;

/** GET_ALL_TOPIC_LIST_FROM_NAMESERVER (206), GET_TOPICS_BY_CLUSTER (224)... response body. */
export const TopicList = jsonBody(
  'TopicList',
  jsonShape.object({ topicList: jsonShape.withDefault(jsonShape.array(jsonShape.string), []), brokerAddr: jsonShape.optional(jsonShape.string) }),
);
export type TopicList = BodyOf<typeof TopicList.shape>;

/** GET_KVLIST_BY_NAMESPACE (219) and REGISTER_BROKER response body. */
export const KVTable = jsonBody('KVTable', jsonShape.object({ table: jsonShape.withDefault(jsonShape.map(jsonShape.string), {}) }));
export type KVTable = BodyOf<typeof KVTable.shape>;
