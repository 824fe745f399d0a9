export { main } from './main.js';
export { resolveBrokerConfig } from './broker-options.js';
