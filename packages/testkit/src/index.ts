export { sleep, waitFor, withTimeout, WaitTimeoutError } from './wait.js';
export type { WaitForOptions } from './wait.js';
export {
  TERN_BIN, TEST_BROKER_DEFAULTS, TernProcess, parseReadyLine, makeTempDir, startNamesrv, startBroker, startAllInOne, liveProcesses,
  cleanupAll, ternBuilt,
} from './tern-process.js';
export type { ConfigValues, TernRole, ExitInfo, NamesrvOptions, BrokerOptions, AllInOneOptions } from './tern-process.js';
export { TestClient, PullSysFlag, decodePullBody } from './test-client.js';
export type {
  Answer, RouteAnswer, SendAnswer, PullAnswer, OffsetAnswer, MessageProperties, SendOptions, PullOptions, CreateTopicOptions,
  HeartbeatOptions,
} from './test-client.js';
export { Harness } from './harness.js';
export { freePort } from './free-port.js';
