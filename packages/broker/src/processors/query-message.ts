import {
  QueryMessageRequestHeader, QueryMessageResponseHeader, type RemotingCommand, ResponseCode, ViewMessageRequestHeader,
  decodeCustomHeader, encodeCustomHeader, responseCommand,
} from '@tern/protocol';
import type { BrokerContext } from '../broker-context.js';

const QUERY_MESSAGES_MAX = 64;

/** VIEW_MESSAGE_BY_ID (33): the record at a CommitLog offset (the client decoded it from the offset message id). */
export function viewMessageProcessor(context: BrokerContext) {
  return async (request: RemotingCommand): Promise<RemotingCommand> => {
    const header = decodeCustomHeader(ViewMessageRequestHeader, request.extFields);
    const record = await context.store.lookMessageByOffset(header.offset);
    if (!record) return responseCommand(request, ResponseCode.SYSTEM_ERROR, `can not find message by the offset, ${header.offset}`);
    return responseCommand(request, ResponseCode.SUCCESS, null, {}, record);
  };
}

/** QUERY_MESSAGE (12): messages of a topic by key (KEYS word or UNIQ_KEY) within a store-time range, newest first. */
export function queryMessageProcessor(context: BrokerContext) {
  return async (request: RemotingCommand): Promise<RemotingCommand> => {
    const header = decodeCustomHeader(QueryMessageRequestHeader, request.extFields);
    const maxCount = Math.max(1, Math.min(header.maxNum, QUERY_MESSAGES_MAX));
    const records = await context.store.queryMessage(header.topic, header.key, maxCount, header.beginTimestamp, header.endTimestamp);
    const responseHeader = encodeCustomHeader(QueryMessageResponseHeader, {
      indexLastUpdateTimestamp: context.clock.nowMs(), indexLastUpdatePhyoffset: context.store.getMaxPhysicalOffset(),
    });
    if (records.length === 0) {
      return responseCommand(request, ResponseCode.QUERY_NOT_FOUND, 'can not find message, maybe time range not correct', responseHeader);
    }
    return responseCommand(request, ResponseCode.SUCCESS, null, responseHeader, Buffer.concat(records));
  };
}
