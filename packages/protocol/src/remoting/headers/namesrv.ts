import { type HeaderOf, defineHeader, headerField } from './header-schema.js';

/** GET_ROUTEINFO_BY_TOPIC (105). Tern always answers standard JSON, whatever acceptStandardJsonOnly says. */
export const GetRouteInfoRequestHeader = defineHeader({
  topic: headerField.required('string'),
  acceptStandardJsonOnly: headerField.optional('boolean'),
});
export type GetRouteInfoRequestHeader = HeaderOf<typeof GetRouteInfoRequestHeader>;

/** REGISTER_BROKER (103), broker → name server; body = RegisterBrokerBody (remoting.md §7.3). */
export const RegisterBrokerRequestHeader = defineHeader({
  brokerName: headerField.required('string'),
  brokerAddr: headerField.required('string'),
  clusterName: headerField.required('string'),
  haServerAddr: headerField.required('string'),
  /** 0 = master. */
  brokerId: headerField.required('long'),
  /** Java `compressedRegister`: the body is RegisterBrokerBody's deflated binary form, not JSON. */
  compressed: headerField.withDefault('boolean', false),
  /** CRC32 of the body (0 = not checked). */
  bodyCrc32: headerField.withDefault('int', 0),
});
export type RegisterBrokerRequestHeader = HeaderOf<typeof RegisterBrokerRequestHeader>;

/** REGISTER_BROKER response; body = the ORDER_TOPIC_CONFIG KV table. */
export const RegisterBrokerResponseHeader = defineHeader({
  haServerAddr: headerField.optional('string'),
  masterAddr: headerField.optional('string'),
});
export type RegisterBrokerResponseHeader = HeaderOf<typeof RegisterBrokerResponseHeader>;

/** UNREGISTER_BROKER (104). */
export const UnregisterBrokerRequestHeader = defineHeader({
  brokerName: headerField.required('string'),
  brokerAddr: headerField.required('string'),
  clusterName: headerField.required('string'),
  brokerId: headerField.required('long'),
});
export type UnregisterBrokerRequestHeader = HeaderOf<typeof UnregisterBrokerRequestHeader>;

/** DELETE_TOPIC_IN_NAMESRV (216). clusterName (4.9.x tools): delete only that cluster's routes. */
export const DeleteTopicFromNamesrvRequestHeader = defineHeader({
  topic: headerField.required('string'),
  clusterName: headerField.optional('string'),
});
export type DeleteTopicFromNamesrvRequestHeader = HeaderOf<typeof DeleteTopicFromNamesrvRequestHeader>;

/** PUT_KV_CONFIG (100). */
export const PutKVConfigRequestHeader = defineHeader({
  namespace: headerField.required('string'),
  key: headerField.required('string'),
  value: headerField.required('string'),
});
export type PutKVConfigRequestHeader = HeaderOf<typeof PutKVConfigRequestHeader>;

/** GET_KV_CONFIG (101). */
export const GetKVConfigRequestHeader = defineHeader({
  namespace: headerField.required('string'),
  key: headerField.required('string'),
});
export type GetKVConfigRequestHeader = HeaderOf<typeof GetKVConfigRequestHeader>;

/** GET_KV_CONFIG response (code 0 with `value`, or 22 QUERY_NOT_FOUND). */
export const GetKVConfigResponseHeader = defineHeader({
  value: headerField.optional('string'),
});
export type GetKVConfigResponseHeader = HeaderOf<typeof GetKVConfigResponseHeader>;

/** DELETE_KV_CONFIG (102). */
export const DeleteKVConfigRequestHeader = defineHeader({
  namespace: headerField.required('string'),
  key: headerField.required('string'),
});
export type DeleteKVConfigRequestHeader = HeaderOf<typeof DeleteKVConfigRequestHeader>;

/** GET_KVLIST_BY_NAMESPACE (219); body of the answer = KVTable. */
export const GetKVListByNamespaceRequestHeader = defineHeader({
  namespace: headerField.required('string'),
});
export type GetKVListByNamespaceRequestHeader = HeaderOf<typeof GetKVListByNamespaceRequestHeader>;
