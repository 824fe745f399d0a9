import { RequestCode } from '../request-code.js';
import { type HeaderInput, type HeaderOf, decodeCustomHeader, defineHeader, encodeCustomHeader, headerField, renameWireKeys } from './header-schema.js';

/** SEND_MESSAGE (10) / SEND_REPLY_MESSAGE (324): SendMessageRequestHeader, long names (remoting.md §7.4). */
export const SendMessageRequestHeader = defineHeader({
  producerGroup: headerField.required('string'),
  topic: headerField.required('string'),
  defaultTopic: headerField.required('string'),
  defaultTopicQueueNums: headerField.required('int'),
  queueId: headerField.required('int'),
  sysFlag: headerField.required('int'),
  bornTimestamp: headerField.required('long'),
  flag: headerField.required('int'),
  properties: headerField.optional('string'),
  /** Java: null → 0. */
  reconsumeTimes: headerField.withDefault('int', 0),
  unitMode: headerField.withDefault('boolean', false),
  /** Honoured for %RETRY% topics only when the request version is ≥ V3_4_9 (121). */
  maxReconsumeTimes: headerField.optional('int'),
  batch: headerField.withDefault('boolean', false),
  /** RocketMQ 5.x clients only (`bname` in the long form, `n` in V2). */
  brokerName: headerField.optional('string', { wire: 'bname' }),
});
export type SendMessageRequestHeader = HeaderOf<typeof SendMessageRequestHeader>;

/** The single-letter keys of SendMessageRequestHeaderV2 for each SendMessageRequestHeader property. */
export const SEND_MESSAGE_V2_KEYS = Object.freeze({
  producerGroup: 'a',
  topic: 'b',
  defaultTopic: 'c',
  defaultTopicQueueNums: 'd',
  queueId: 'e',
  sysFlag: 'f',
  bornTimestamp: 'g',
  flag: 'h',
  properties: 'i',
  reconsumeTimes: 'j',
  unitMode: 'k',
  maxReconsumeTimes: 'l',
  batch: 'm',
  brokerName: 'n',
} as const satisfies { readonly [K in keyof typeof SendMessageRequestHeader]: string });

/**
 * SEND_MESSAGE_V2 (310), SEND_BATCH_MESSAGE (320), SEND_REPLY_MESSAGE_V2 (325): the same header under the keys a..n.
 * Decoding it yields a SendMessageRequestHeader (long property names); errors name both, e.g. `missing header field
 * e (queueId)`.
 */
export const SendMessageRequestHeaderV2 = renameWireKeys(SendMessageRequestHeader, SEND_MESSAGE_V2_KEYS);

/** True for the codes whose send header uses the V2 letters. */
export function usesSendMessageV2Header(code: number): boolean {
  return code === RequestCode.SEND_MESSAGE_V2 || code === RequestCode.SEND_BATCH_MESSAGE || code === RequestCode.SEND_REPLY_MESSAGE_V2;
}

/** Decodes the send header of any send request code (10, 310, 320, 324, 325) into the long-name form. */
export function decodeSendMessageRequestHeader(code: number, extFields: Readonly<Record<string, unknown>>): SendMessageRequestHeader {
  return decodeCustomHeader(usesSendMessageV2Header(code) ? SendMessageRequestHeaderV2 : SendMessageRequestHeader, extFields);
}

/** Encodes a send header for `code`: letters for 310/320/325, long names otherwise. */
export function encodeSendMessageRequestHeader(code: number, header: HeaderInput<typeof SendMessageRequestHeader>): Record<string, string> {
  return encodeCustomHeader(usesSendMessageV2Header(code) ? SendMessageRequestHeaderV2 : SendMessageRequestHeader, header);
}

/** V2 letters → long names (Java `createSendMessageRequestHeaderV1`), validating on the way. */
export function sendMessageHeaderV2ToV1(extFields: Readonly<Record<string, unknown>>): Record<string, string> {
  return encodeCustomHeader(SendMessageRequestHeader, decodeCustomHeader(SendMessageRequestHeaderV2, extFields));
}

/** Long names → V2 letters (Java `createSendMessageRequestHeaderV2`), validating on the way. */
export function sendMessageHeaderV1ToV2(extFields: Readonly<Record<string, unknown>>): Record<string, string> {
  return encodeCustomHeader(SendMessageRequestHeaderV2, decodeCustomHeader(SendMessageRequestHeader, extFields));
}

/** The send response (codes 0, 10, 11, 12). */
export const SendMessageResponseHeader = defineHeader({
  /** The offset message id (store host + CommitLog offset, 32 hex chars for IPv4). */
  msgId: headerField.required('string'),
  queueId: headerField.required('int'),
  queueOffset: headerField.required('long'),
  transactionId: headerField.optional('string'),
  /** MessageConst.PROPERTY_MSG_REGION, added by Java brokers ("DefaultRegion"). */
  msgRegion: headerField.optional('string', { wire: 'MSG_REGION' }),
  /** MessageConst.PROPERTY_TRACE_SWITCH, added by Java brokers. */
  traceOn: headerField.optional('boolean', { wire: 'TRACE_ON' }),
});
export type SendMessageResponseHeader = HeaderOf<typeof SendMessageResponseHeader>;
