import { type HeaderOf, defineHeader, field } from './header-schema.js';

/** GET_ROUTEINFO_BY_TOPIC (105). Tern always answers standard JSON, whatever acceptStandardJsonOnly says. */
export const GetRouteInfoRequestHeader = defineHeader({
  topic: field.required('string'),
  acceptStandardJsonOnly: field.optional('boolean'),
});
export type GetRouteInfoRequestHeader = HeaderOf<typeof GetRouteInfoRequestHeader>;

/** REGISTER_BROKER (103), broker → name server; body = RegisterBrokerBody (remoting.md §7.3). */
export const RegisterBrokerRequestHeader = defineHeader({
  brokerName: field.required('string'),
  brokerAddr: field.required('string'),
  clusterName: field.required('string'),
  haServerAddr: field.required('string'),
  /** 0 = master. */
  brokerId: field.required('long'),
  /** Java `compressedRegister`: the body is RegisterBrokerBody's deflated binary form, not JSON. */
  compressed: field.withDefault('boolean', false),
  /** CRC32 of the body (0 = not checked). */
  bodyCrc32: field.withDefault('int', 0),
});
export type RegisterBrokerRequestHeader = HeaderOf<typeof RegisterBrokerRequestHeader>;

/** REGISTER_BROKER response; body = the ORDER_TOPIC_CONFIG KV table. */
export const RegisterBrokerResponseHeader = defineHeader({
  haServerAddr: field.optional('string'),
  masterAddr: field.optional('string'),
});
export type RegisterBrokerResponseHeader = HeaderOf<typeof RegisterBrokerResponseHeader>;

/** UNREGISTER_BROKER (104). */
export const UnregisterBrokerRequestHeader = defineHeader({
  brokerName: field.required('string'),
  brokerAddr: field.required('string'),
  clusterName: field.required('string'),
  brokerId: field.required('long'),
});
export type UnregisterBrokerRequestHeader = HeaderOf<typeof UnregisterBrokerRequestHeader>;

/** DELETE_TOPIC_IN_NAMESRV (216). clusterName (4.9.x tools): delete only that cluster's routes. */
export const DeleteTopicFromNamesrvRequestHeader = defineHeader({
  topic: field.required('string'),
  clusterName: field.optional('string'),
});
export type DeleteTopicFromNamesrvRequestHeader = HeaderOf<typeof DeleteTopicFromNamesrvRequestHeader>;

/** PUT_KV_CONFIG (100). */
export const PutKVConfigRequestHeader = defineHeader({
  namespace: field.required('string'),
  key: field.required('string'),
  value: field.required('string'),
});
export type PutKVConfigRequestHeader = HeaderOf<typeof PutKVConfigRequestHeader>;

/** GET_KV_CONFIG (101). */
export const GetKVConfigRequestHeader = defineHeader({
  namespace: field.required('string'),
  key: field.required('string'),
});
export type GetKVConfigRequestHeader = HeaderOf<typeof GetKVConfigRequestHeader>;

/** GET_KV_CONFIG response (code 0 with `value`, or 22 QUERY_NOT_FOUND). */
export const GetKVConfigResponseHeader = defineHeader({
  value: field.optional('string'),
});
export type GetKVConfigResponseHeader = HeaderOf<typeof GetKVConfigResponseHeader>;

/** DELETE_KV_CONFIG (102). */
export const DeleteKVConfigRequestHeader = defineHeader({
  namespace: field.required('string'),
  key: field.required('string'),
});
export type DeleteKVConfigRequestHeader = HeaderOf<typeof DeleteKVConfigRequestHeader>;

/** GET_KVLIST_BY_NAMESPACE (219); body of the answer = KVTable. */
export const GetKVListByNamespaceRequestHeader = defineHeader({
  namespace: field.required('string'),
});
export type GetKVListByNamespaceRequestHeader = HeaderOf<typeof GetKVListByNamespaceRequestHeader>;
