import { RequestCode } from '../request-code.js';
import { type HeaderOf, type HeaderSchema, NoHeader, decodeCustomHeader } from './header-schema.js';
import { SendMessageRequestHeader, SendMessageRequestHeaderV2, SendMessageResponseHeader } from './send.js';
import { PullMessageRequestHeader, PullMessageResponseHeader } from './pull.js';
import {
  GetEarliestMsgStoretimeRequestHeader, GetEarliestMsgStoretimeResponseHeader, GetMaxOffsetRequestHeader, GetMinOffsetRequestHeader,
  OffsetResponseHeader, QueryConsumerOffsetRequestHeader, QueryMessageRequestHeader, QueryMessageResponseHeader,
  SearchOffsetRequestHeader, UpdateConsumerOffsetRequestHeader, ViewMessageRequestHeader,
} from './offset.js';
import {
  CheckTransactionStateRequestHeader, ConsumerSendMsgBackRequestHeader, EndTransactionRequestHeader,
  GetConsumerListByGroupRequestHeader, GetConsumerRunningInfoRequestHeader, NotifyConsumerIdsChangedRequestHeader,
  UnregisterClientRequestHeader,
} from './client.js';
import { CreateTopicRequestHeader, DeleteTopicRequestHeader } from './topic.js';
import {
  DeleteKVConfigRequestHeader, DeleteTopicFromNamesrvRequestHeader, GetKVConfigRequestHeader, GetKVConfigResponseHeader,
  GetKVListByNamespaceRequestHeader, GetRouteInfoRequestHeader, PutKVConfigRequestHeader, RegisterBrokerRequestHeader,
  RegisterBrokerResponseHeader, UnregisterBrokerRequestHeader,
} from './namesrv.js';

/**
 * The request header schema of every request code Tern's broker and name server handle (or send), by code. Codes
 * whose request is body-only map to NoHeader.
 */
export const RequestHeaders = Object.freeze({
  [RequestCode.SEND_MESSAGE]: SendMessageRequestHeader,
  [RequestCode.SEND_MESSAGE_V2]: SendMessageRequestHeaderV2,
  [RequestCode.SEND_BATCH_MESSAGE]: SendMessageRequestHeaderV2,
  [RequestCode.PULL_MESSAGE]: PullMessageRequestHeader,
  [RequestCode.QUERY_MESSAGE]: QueryMessageRequestHeader,
  [RequestCode.QUERY_CONSUMER_OFFSET]: QueryConsumerOffsetRequestHeader,
  [RequestCode.UPDATE_CONSUMER_OFFSET]: UpdateConsumerOffsetRequestHeader,
  [RequestCode.UPDATE_AND_CREATE_TOPIC]: CreateTopicRequestHeader,
  [RequestCode.SEARCH_OFFSET_BY_TIMESTAMP]: SearchOffsetRequestHeader,
  [RequestCode.GET_MAX_OFFSET]: GetMaxOffsetRequestHeader,
  [RequestCode.GET_MIN_OFFSET]: GetMinOffsetRequestHeader,
  [RequestCode.GET_EARLIEST_MSG_STORETIME]: GetEarliestMsgStoretimeRequestHeader,
  [RequestCode.VIEW_MESSAGE_BY_ID]: ViewMessageRequestHeader,
  [RequestCode.HEART_BEAT]: NoHeader,
  [RequestCode.UNREGISTER_CLIENT]: UnregisterClientRequestHeader,
  [RequestCode.CONSUMER_SEND_MSG_BACK]: ConsumerSendMsgBackRequestHeader,
  [RequestCode.END_TRANSACTION]: EndTransactionRequestHeader,
  [RequestCode.GET_CONSUMER_LIST_BY_GROUP]: GetConsumerListByGroupRequestHeader,
  [RequestCode.CHECK_TRANSACTION_STATE]: CheckTransactionStateRequestHeader,
  [RequestCode.NOTIFY_CONSUMER_IDS_CHANGED]: NotifyConsumerIdsChangedRequestHeader,
  [RequestCode.LOCK_BATCH_MQ]: NoHeader,
  [RequestCode.UNLOCK_BATCH_MQ]: NoHeader,
  [RequestCode.PUT_KV_CONFIG]: PutKVConfigRequestHeader,
  [RequestCode.GET_KV_CONFIG]: GetKVConfigRequestHeader,
  [RequestCode.DELETE_KV_CONFIG]: DeleteKVConfigRequestHeader,
  [RequestCode.REGISTER_BROKER]: RegisterBrokerRequestHeader,
  [RequestCode.UNREGISTER_BROKER]: UnregisterBrokerRequestHeader,
  [RequestCode.GET_ROUTEINFO_BY_TOPIC]: GetRouteInfoRequestHeader,
  [RequestCode.GET_BROKER_CLUSTER_INFO]: NoHeader,
  [RequestCode.GET_ALL_TOPIC_LIST_FROM_NAMESERVER]: NoHeader,
  [RequestCode.DELETE_TOPIC_IN_BROKER]: DeleteTopicRequestHeader,
  [RequestCode.DELETE_TOPIC_IN_NAMESRV]: DeleteTopicFromNamesrvRequestHeader,
  [RequestCode.GET_KVLIST_BY_NAMESPACE]: GetKVListByNamespaceRequestHeader,
  [RequestCode.GET_CONSUMER_RUNNING_INFO]: GetConsumerRunningInfoRequestHeader,
} as const satisfies Readonly<Record<number, HeaderSchema>>);
export type RequestHeaderCode = keyof typeof RequestHeaders;

/** The custom header of the response to each request code that has one. */
export const ResponseHeaders = Object.freeze({
  [RequestCode.SEND_MESSAGE]: SendMessageResponseHeader,
  [RequestCode.SEND_MESSAGE_V2]: SendMessageResponseHeader,
  [RequestCode.SEND_BATCH_MESSAGE]: SendMessageResponseHeader,
  [RequestCode.PULL_MESSAGE]: PullMessageResponseHeader,
  [RequestCode.QUERY_MESSAGE]: QueryMessageResponseHeader,
  [RequestCode.QUERY_CONSUMER_OFFSET]: OffsetResponseHeader,
  [RequestCode.SEARCH_OFFSET_BY_TIMESTAMP]: OffsetResponseHeader,
  [RequestCode.GET_MAX_OFFSET]: OffsetResponseHeader,
  [RequestCode.GET_MIN_OFFSET]: OffsetResponseHeader,
  [RequestCode.GET_EARLIEST_MSG_STORETIME]: GetEarliestMsgStoretimeResponseHeader,
  [RequestCode.GET_KV_CONFIG]: GetKVConfigResponseHeader,
  [RequestCode.REGISTER_BROKER]: RegisterBrokerResponseHeader,
} as const satisfies Readonly<Record<number, HeaderSchema>>);
export type ResponseHeaderCode = keyof typeof ResponseHeaders;

/** The request header schema for `code`, or undefined when Tern has none for it. */
export function requestHeaderSchema(code: number): HeaderSchema | undefined {
  return Object.hasOwn(RequestHeaders, code) ? (RequestHeaders as Readonly<Record<number, HeaderSchema>>)[code] : undefined;
}

/** Decodes the request header of a known code, typed: `decodeRequestHeader(RequestCode.PULL_MESSAGE, cmd.extFields)`. */
export function decodeRequestHeader<C extends RequestHeaderCode>(
  code: C,
  extFields: Readonly<Record<string, unknown>>,
): HeaderOf<(typeof RequestHeaders)[C]> {
  return decodeCustomHeader<(typeof RequestHeaders)[C]>(RequestHeaders[code], extFields);
}

/** Decodes the response header for a request code, typed: `decodeResponseHeader(RequestCode.PULL_MESSAGE, res.extFields)`. */
export function decodeResponseHeader<C extends ResponseHeaderCode>(
  code: C,
  extFields: Readonly<Record<string, unknown>>,
): HeaderOf<(typeof ResponseHeaders)[C]> {
  return decodeCustomHeader<(typeof ResponseHeaders)[C]>(ResponseHeaders[code], extFields);
}
