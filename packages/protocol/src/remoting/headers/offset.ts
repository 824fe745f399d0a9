import { type HeaderOf, defineHeader, headerField } from './header-schema.js';

/** QUERY_CONSUMER_OFFSET (14). */
export const QueryConsumerOffsetRequestHeader = defineHeader({
  consumerGroup: headerField.required('string'),
  topic: headerField.required('string'),
  queueId: headerField.required('int'),
});
export type QueryConsumerOffsetRequestHeader = HeaderOf<typeof QueryConsumerOffsetRequestHeader>;

/** UPDATE_CONSUMER_OFFSET (15); ali-ons sends commitOffset -1 for "unknown". */
export const UpdateConsumerOffsetRequestHeader = defineHeader({
  consumerGroup: headerField.required('string'),
  topic: headerField.required('string'),
  queueId: headerField.required('int'),
  commitOffset: headerField.required('long'),
});
export type UpdateConsumerOffsetRequestHeader = HeaderOf<typeof UpdateConsumerOffsetRequestHeader>;

/** GET_MAX_OFFSET (30). */
export const GetMaxOffsetRequestHeader = defineHeader({
  topic: headerField.required('string'),
  queueId: headerField.required('int'),
});
export type GetMaxOffsetRequestHeader = HeaderOf<typeof GetMaxOffsetRequestHeader>;

/** GET_MIN_OFFSET (31). */
export const GetMinOffsetRequestHeader = defineHeader({
  topic: headerField.required('string'),
  queueId: headerField.required('int'),
});
export type GetMinOffsetRequestHeader = HeaderOf<typeof GetMinOffsetRequestHeader>;

/** SEARCH_OFFSET_BY_TIMESTAMP (29); timestamp in ms. */
export const SearchOffsetRequestHeader = defineHeader({
  topic: headerField.required('string'),
  queueId: headerField.required('int'),
  timestamp: headerField.required('long'),
});
export type SearchOffsetRequestHeader = HeaderOf<typeof SearchOffsetRequestHeader>;

/** GET_EARLIEST_MSG_STORETIME (32). */
export const GetEarliestMsgStoretimeRequestHeader = defineHeader({
  topic: headerField.required('string'),
  queueId: headerField.required('int'),
});
export type GetEarliestMsgStoretimeRequestHeader = HeaderOf<typeof GetEarliestMsgStoretimeRequestHeader>;

/** The `offset` answer of QUERY_CONSUMER_OFFSET, GET_MAX_OFFSET, GET_MIN_OFFSET and SEARCH_OFFSET_BY_TIMESTAMP. */
export const OffsetResponseHeader = defineHeader({
  offset: headerField.required('long'),
});
export type OffsetResponseHeader = HeaderOf<typeof OffsetResponseHeader>;

/** GET_EARLIEST_MSG_STORETIME response. */
export const GetEarliestMsgStoretimeResponseHeader = defineHeader({
  timestamp: headerField.required('long'),
});
export type GetEarliestMsgStoretimeResponseHeader = HeaderOf<typeof GetEarliestMsgStoretimeResponseHeader>;

/** VIEW_MESSAGE_BY_ID (33): the CommitLog offset decoded from an offset msg id. */
export const ViewMessageRequestHeader = defineHeader({
  offset: headerField.required('long'),
});
export type ViewMessageRequestHeader = HeaderOf<typeof ViewMessageRequestHeader>;

/**
 * QUERY_MESSAGE (12): index lookup of `topic#key`. Java tools send endTimestamp = Long.MAX_VALUE ("no limit"), so
 * both bounds saturate at ±MAX_SAFE_INTEGER instead of being rejected.
 */
export const QueryMessageRequestHeader = defineHeader({
  topic: headerField.required('string'),
  key: headerField.required('string'),
  maxNum: headerField.required('int'),
  beginTimestamp: headerField.required('long', { saturate: true }),
  endTimestamp: headerField.required('long', { saturate: true }),
  /** extField `_UNIQUE_KEY_QUERY` = "true": the key is a UNIQ_KEY (Java `MixAll.UNIQUE_MSG_QUERY_FLAG`). */
  uniqueKeyQuery: headerField.optional('boolean', { wire: '_UNIQUE_KEY_QUERY' }),
});
export type QueryMessageRequestHeader = HeaderOf<typeof QueryMessageRequestHeader>;

/** QUERY_MESSAGE response. */
export const QueryMessageResponseHeader = defineHeader({
  indexLastUpdateTimestamp: headerField.required('long'),
  indexLastUpdatePhyoffset: headerField.required('long'),
});
export type QueryMessageResponseHeader = HeaderOf<typeof QueryMessageResponseHeader>;
