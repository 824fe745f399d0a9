export type { NameServerOptions } from './namesrv.js';
export { NameServer } from './namesrv.js';
export type { NamesrvConfig } from './namesrv-config.js';
export {
  NAMESRV_LISTEN_PORT_DEFAULT, SCAN_INTERVAL_MS_DEFAULT, namesrvConfigDefaults, validateNamesrvConfig, resolveNamesrvConfig,
} from './namesrv-config.js';
export type {
  BrokerAddrEntry, BrokerLiveInfo, RegisterBrokerResult, ExpiredBroker, RouteInfoManagerOptions,
} from './route-info-manager.js';
export { RouteInfoManager, MASTER_BROKER_ID, BROKER_CHANNEL_EXPIRED_TIME_MS_DEFAULT } from './route-info-manager.js';
export type { KvConfigManagerOptions } from './kv-config-manager.js';
export { KvConfigManager, KvConfigPersistError, NAMESPACE_ORDER_TOPIC_CONFIG } from './kv-config-manager.js';
export type { NamesrvProcessorDeps } from './processors.js';
export { namesrvProcessors, GetTopicsByClusterRequestHeader } from './processors.js';
