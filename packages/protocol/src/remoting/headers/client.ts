import { type HeaderOf, defineHeader, headerField } from './header-schema.js';

/** UNREGISTER_CLIENT (35): one of producerGroup / consumerGroup (the other is omitted). */
export const UnregisterClientRequestHeader = defineHeader({
  clientID: headerField.required('string'),
  producerGroup: headerField.optional('string'),
  consumerGroup: headerField.optional('string'),
});
export type UnregisterClientRequestHeader = HeaderOf<typeof UnregisterClientRequestHeader>;

/** GET_CONSUMER_LIST_BY_GROUP (38). */
export const GetConsumerListByGroupRequestHeader = defineHeader({
  consumerGroup: headerField.required('string'),
});
export type GetConsumerListByGroupRequestHeader = HeaderOf<typeof GetConsumerListByGroupRequestHeader>;

/** NOTIFY_CONSUMER_IDS_CHANGED (40), broker → client, oneway. */
export const NotifyConsumerIdsChangedRequestHeader = defineHeader({
  consumerGroup: headerField.required('string'),
});
export type NotifyConsumerIdsChangedRequestHeader = HeaderOf<typeof NotifyConsumerIdsChangedRequestHeader>;

/** CONSUMER_SEND_MSG_BACK (36) (remoting.md §7.7). delayLevel 0 = broker decides (3 + reconsumeTimes), < 0 = DLQ. */
export const ConsumerSendMsgBackRequestHeader = defineHeader({
  /** CommitLog offset of the message being sent back. */
  offset: headerField.required('long'),
  group: headerField.required('string'),
  delayLevel: headerField.required('int'),
  originMsgId: headerField.optional('string'),
  originTopic: headerField.optional('string'),
  unitMode: headerField.withDefault('boolean', false),
  /** Honoured only when the request version is ≥ V3_4_9 (121). */
  maxReconsumeTimes: headerField.optional('int'),
});
export type ConsumerSendMsgBackRequestHeader = HeaderOf<typeof ConsumerSendMsgBackRequestHeader>;

/** END_TRANSACTION (37), oneway from Java producers (remoting.md §7.9). commitOrRollback: 0 NOT, 8 COMMIT, 12 ROLLBACK. */
export const EndTransactionRequestHeader = defineHeader({
  producerGroup: headerField.required('string'),
  /** Queue offset of the half message. */
  tranStateTableOffset: headerField.required('long'),
  commitLogOffset: headerField.required('long'),
  commitOrRollback: headerField.required('int'),
  fromTransactionCheck: headerField.withDefault('boolean', false),
  msgId: headerField.required('string'),
  transactionId: headerField.optional('string'),
});
export type EndTransactionRequestHeader = HeaderOf<typeof EndTransactionRequestHeader>;

/** CHECK_TRANSACTION_STATE (39), broker → producer, oneway; body = the half message record. */
export const CheckTransactionStateRequestHeader = defineHeader({
  tranStateTableOffset: headerField.required('long'),
  commitLogOffset: headerField.required('long'),
  msgId: headerField.optional('string'),
  transactionId: headerField.optional('string'),
  offsetMsgId: headerField.optional('string'),
});
export type CheckTransactionStateRequestHeader = HeaderOf<typeof CheckTransactionStateRequestHeader>;

/** GET_CONSUMER_RUNNING_INFO (307), broker → client (or admin → broker, forwarded). */
export const GetConsumerRunningInfoRequestHeader = defineHeader({
  consumerGroup: headerField.required('string'),
  clientId: headerField.required('string'),
  jstackEnable: headerField.withDefault('boolean', false),
});
export type GetConsumerRunningInfoRequestHeader = HeaderOf<typeof GetConsumerRunningInfoRequestHeader>;
