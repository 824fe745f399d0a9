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
  decodePropertiesToObject,
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
export { encodeFrame, encodeFrameParts, decodeFrameContent, FrameDecoder } from './remoting/frame-codec.js';
export { FrameReader, FRAME_READER_SCRATCH_BYTES } from './remoting/frame-reader.js';
export type { RequestCodeName } from './remoting/request-code.js';
export { RequestCode, requestCodeName } from './remoting/request-code.js';
export type { ResponseCodeInfo, ResponseCodeName } from './remoting/response-code.js';
export { ResponseCode, RESPONSE_CODE_TABLE, responseCodeInfo, isRetriableResponseCode } from './remoting/response-code.js';
export type {
  HeaderFieldType, HeaderFieldValue, HeaderFieldOptions, HeaderField, RequiredHeaderField, DefaultedHeaderField,
  OptionalHeaderField, HeaderSchema, HeaderOf, HeaderInput,
} from './remoting/headers/header-schema.js';
export {
  headerField, defineHeader, renameWireKeys, wireKey, NoHeader, HeaderError, decodeCustomHeader, encodeCustomHeader,
} from './remoting/headers/header-schema.js';
export {
  SendMessageRequestHeader, SendMessageRequestHeaderV2, SEND_MESSAGE_V2_KEYS, SendMessageResponseHeader,
  usesSendMessageV2Header, decodeSendMessageRequestHeader, encodeSendMessageRequestHeader, sendMessageHeaderV2ToV1,
  sendMessageHeaderV1ToV2,
} from './remoting/headers/send.js';
export { PullMessageRequestHeader, PullMessageResponseHeader } from './remoting/headers/pull.js';
export {
  QueryConsumerOffsetRequestHeader, UpdateConsumerOffsetRequestHeader, GetMaxOffsetRequestHeader, GetMinOffsetRequestHeader,
  SearchOffsetRequestHeader, GetEarliestMsgStoretimeRequestHeader, OffsetResponseHeader, GetEarliestMsgStoretimeResponseHeader,
  ViewMessageRequestHeader, QueryMessageRequestHeader, QueryMessageResponseHeader,
} from './remoting/headers/offset.js';
export {
  UnregisterClientRequestHeader, GetConsumerListByGroupRequestHeader, NotifyConsumerIdsChangedRequestHeader,
  ConsumerSendMsgBackRequestHeader, EndTransactionRequestHeader, CheckTransactionStateRequestHeader,
  GetConsumerRunningInfoRequestHeader,
} from './remoting/headers/client.js';
export { CreateTopicRequestHeader, DeleteTopicRequestHeader } from './remoting/headers/topic.js';
export {
  GetRouteInfoRequestHeader, RegisterBrokerRequestHeader, RegisterBrokerResponseHeader, UnregisterBrokerRequestHeader,
  DeleteTopicFromNamesrvRequestHeader, PutKVConfigRequestHeader, GetKVConfigRequestHeader, GetKVConfigResponseHeader,
  DeleteKVConfigRequestHeader, GetKVListByNamespaceRequestHeader,
} from './remoting/headers/namesrv.js';
export type { RequestHeaderCode, ResponseHeaderCode } from './remoting/headers/request-headers.js';
export {
  RequestHeaders, ResponseHeaders, requestHeaderSchema, decodeRequestHeader, decodeResponseHeader,
} from './remoting/headers/request-headers.js';
export type { BodyShape, BodyFieldShape, OptionalBodyShape, DefaultedBodyShape, BodyOf, JsonBodyCodec } from './remoting/body/json-body.js';
export {
  jsonShape, jsonBody, quoteBareIntegerKeys, parseJsonBody, decodeShape, encodeShape, compareJsonKeys,
} from './remoting/body/json-body.js';
export type { SubscriptionData, ConsumerData, ProducerData, QueueData, BrokerData, TopicConfig, DataVersion } from './remoting/body/bodies.js';
export {
  HeartbeatData, TopicRouteData, TopicConfigSerializeWrapper, RegisterBrokerBody, ConsumerListBody, MessageQueue,
  LockBatchRequestBody, UnlockBatchRequestBody, LockBatchResponseBody, ClusterInfo, TopicList, KVTable,
} from './remoting/body/bodies.js';
