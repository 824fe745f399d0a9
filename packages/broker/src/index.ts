export { Broker, storeConfigFor } from './broker.js';
export type { BrokerStartResult } from './broker.js';
export type { BrokerConfig, BrokerConfigKey, ParsedBrokerConfig } from './config/broker-config.js';
export { defaultBrokerConfig, applyBrokerConfig, finishBrokerConfig, parseDelayLevels, brokerConfigKeyDocs } from './config/broker-config.js';
export { parseJavaProperties } from './config/java-properties.js';
export { encodeBatchBody, decodeBatchBody } from './processors/batch-body.js';
export type { BatchMessage } from './processors/batch-body.js';
