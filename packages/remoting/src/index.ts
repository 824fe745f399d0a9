export type { RemotingChannel, RequestProcessor } from './remoting-channel.js';
export type { RemotingServerOptions } from './remoting-server.js';
export { RemotingServer, IN_FLIGHT_REQUESTS_MAX_DEFAULT, WRITE_BUFFER_MAX_BYTES_DEFAULT } from './remoting-server.js';
export type { RemotingClientOptions } from './remoting-client.js';
export { RemotingClient, CONNECT_TIMEOUT_MS_DEFAULT, REQUEST_TIMEOUT_MS_DEFAULT } from './remoting-client.js';
export { RemotingTimeoutError, RemotingConnectionError, RemotingBusyError } from './errors.js';
export { parseAddress, formatSocketAddress, normalizeIp } from './address.js';
export type { TraceSink } from './request-trace.js';
export { traceLine } from './request-trace.js';
