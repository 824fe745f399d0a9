export { javaStringHashCode } from './message/java-hash.js';
export { MessageProperty, KEY_SEPARATOR } from './message/message-const.js';
export {
  NAME_VALUE_SEPARATOR,
  PROPERTY_SEPARATOR,
  PROPERTIES_MAX_BYTES,
  encodeProperties,
  decodeProperties,
  findProperty,
  findKeyProperties,
} from './message/properties.js';
export type { KeyProperties } from './message/properties.js';
export { MessageSysFlag, transactionType } from './message/sys-flag.js';
export type { HostAddress } from './message/host-address.js';
export { hostAddress, isIpv6, formatHostAddress } from './message/host-address.js';
export type { DecodedOffsetMessageId } from './message/message-id.js';
export { createOffsetMessageId, decodeOffsetMessageId } from './message/message-id.js';
export type {
  MessageRecordInput,
  MessageRecordPlacement,
  DecodedMessageRecord,
  EncodedMessageParts,
} from './message/message-record.js';
export {
  MESSAGE_MAGIC_CODE,
  BLANK_MAGIC_CODE,
  BLANK_FILLER_MIN_BYTES,
  RECORD_FIXED_BYTES_IPV4,
  TOPIC_MAX_BYTES,
  RECORD_CRC_DIGITS,
  RecordField,
  bodyCrc32,
  recordSizeBytes,
  prepareMessageRecord,
  writeMessageRecord,
  writeBlankFiller,
  checkRecordCrc,
  readInt64,
  recordLayout,
  decodeMessageRecord,
} from './message/message-record.js';
export { topicProblem } from './message/topic-validation.js';
export type { UniqKeyGenerator, UniqKeyGeneratorOptions, DecodedUniqKey } from './message/uniq-key.js';
export {
  UNIQ_KEY_CHARS_IPV4,
  UNIQ_KEY_CHARS_IPV6,
  createUniqKeyGenerator,
  decodeUniqKey,
  decodeUniqKeyTimestampMs,
} from './message/uniq-key.js';
export type { RemotingCommand } from './remoting/remoting-command.js';
export {
  SerializeType, RemotingFlag, LANGUAGE_CODES, FRAME_MAX_BYTES_DEFAULT, TERN_REMOTING_VERSION, isResponse, isOneway,
  requestCommand, responseCommand, stringFields,
} from './remoting/remoting-command.js';
export { encodeJsonHeader, decodeJsonHeader, encodeBinaryHeader, decodeBinaryHeader, decodeHeader } from './remoting/header-codec.js';
export { encodeFrame, decodeFrameContent, FrameDecoder } from './remoting/frame-codec.js';
