import { type HeaderOf, defineHeader, field } from './header-schema.js';

/** UNREGISTER_CLIENT (35): one of producerGroup / consumerGroup (the other is omitted). */
export const UnregisterClientRequestHeader = defineHeader({
  clientID: field.required('string'),
  producerGroup: field.optional('string'),
  consumerGroup: field.optional('string'),
});
export type UnregisterClientRequestHeader = HeaderOf<typeof UnregisterClientRequestHeader>;

/** GET_CONSUMER_LIST_BY_GROUP (38). */
export const GetConsumerListByGroupRequestHeader = defineHeader({
  consumerGroup: field.required('string'),
});
export type GetConsumerListByGroupRequestHeader = HeaderOf<typeof GetConsumerListByGroupRequestHeader>;

/** NOTIFY_CONSUMER_IDS_CHANGED (40), broker → client, oneway. */
export const NotifyConsumerIdsChangedRequestHeader = defineHeader({
  consumerGroup: field.required('string'),
});
export type NotifyConsumerIdsChangedRequestHeader = HeaderOf<typeof NotifyConsumerIdsChangedRequestHeader>;

/** CONSUMER_SEND_MSG_BACK (36) (remoting.md §7.7). delayLevel 0 = broker decides (3 + reconsumeTimes), < 0 = DLQ. */
export const ConsumerSendMsgBackRequestHeader = defineHeader({
  /** CommitLog offset of the message being sent back. */
  offset: field.required('long'),
  group: field.required('string'),
  delayLevel: field.required('int'),
  originMsgId: field.optional('string'),
  originTopic: field.optional('string'),
  unitMode: field.withDefault('boolean', false),
  /** Honoured only when the request version is ≥ V3_4_9 (121). */
  maxReconsumeTimes: field.optional('int'),
});
export type ConsumerSendMsgBackRequestHeader = HeaderOf<typeof ConsumerSendMsgBackRequestHeader>;

/** END_TRANSACTION (37), oneway from Java producers (remoting.md §7.9). commitOrRollback: 0 NOT, 8 COMMIT, 12 ROLLBACK. */
export const EndTransactionRequestHeader = defineHeader({
  producerGroup: field.required('string'),
  /** Queue offset of the half message. */
  tranStateTableOffset: field.required('long'),
  commitLogOffset: field.required('long'),
  commitOrRollback: field.required('int'),
  fromTransactionCheck: field.withDefault('boolean', false),
  msgId: field.required('string'),
  transactionId: field.optional('string'),
});
export type EndTransactionRequestHeader = HeaderOf<typeof EndTransactionRequestHeader>;

/** CHECK_TRANSACTION_STATE (39), broker → producer, oneway; body = the half message record. */
export const CheckTransactionStateRequestHeader = defineHeader({
  tranStateTableOffset: field.required('long'),
  commitLogOffset: field.required('long'),
  msgId: field.optional('string'),
  transactionId: field.optional('string'),
  offsetMsgId: field.optional('string'),
});
export type CheckTransactionStateRequestHeader = HeaderOf<typeof CheckTransactionStateRequestHeader>;

/** GET_CONSUMER_RUNNING_INFO (307), broker → client (or admin → broker, forwarded). */
export const GetConsumerRunningInfoRequestHeader = defineHeader({
  consumerGroup: field.required('string'),
  clientId: field.required('string'),
  jstackEnable: field.withDefault('boolean', false),
});
export type GetConsumerRunningInfoRequestHeader = HeaderOf<typeof GetConsumerRunningInfoRequestHeader>;
