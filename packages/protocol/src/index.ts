export { javaStringHashCode } from './message/java-hash.js';
export { MessageProperty, KEY_SEPARATOR } from './message/message-const.js';
export {
  NAME_VALUE_SEPARATOR,
  PROPERTY_SEPARATOR,
  PROPERTIES_MAX_BYTES,
  encodeProperties,
  decodeProperties,
  findProperty,
} from './message/properties.js';
export { MessageSysFlag, transactionType } from './message/sys-flag.js';
