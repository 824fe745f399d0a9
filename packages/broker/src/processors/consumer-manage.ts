import {
  ConsumerListBody, GetConsumerListByGroupRequestHeader, OffsetResponseHeader, QueryConsumerOffsetRequestHeader,
  type RemotingCommand, ResponseCode, UpdateConsumerOffsetRequestHeader, decodeCustomHeader, encodeCustomHeader, responseCommand,
} from '@tern/protocol';
import type { BrokerContext } from '../broker-context.js';

/** QUERY_CONSUMER_OFFSET (14): the committed offset; 0 for a new group on a queue that still starts at 0 (4.9's rule). */
export function queryConsumerOffsetProcessor(context: BrokerContext) {
  return (request: RemotingCommand): RemotingCommand => {
    const header = decodeCustomHeader(QueryConsumerOffsetRequestHeader, request.extFields);
    const committed = context.offsets.query(header.consumerGroup, header.topic, header.queueId);
    if (committed >= 0) return responseCommand(request, ResponseCode.SUCCESS, null, encodeCustomHeader(OffsetResponseHeader, { offset: committed }));
    if (context.store.getMinOffsetInQueue(header.topic, header.queueId) <= 0) {
      return responseCommand(request, ResponseCode.SUCCESS, null, encodeCustomHeader(OffsetResponseHeader, { offset: 0 }));
    }
    return responseCommand(request, ResponseCode.QUERY_NOT_FOUND, 'Not found, V3_0_6_SNAPSHOT maybe this group consumer boot first');
  };
}

/** UPDATE_CONSUMER_OFFSET (15): store the commit (persisted every flushConsumerOffsetInterval and at shutdown). */
export function updateConsumerOffsetProcessor(context: BrokerContext) {
  return (request: RemotingCommand): RemotingCommand => {
    const header = decodeCustomHeader(UpdateConsumerOffsetRequestHeader, request.extFields);
    context.offsets.commit(header.consumerGroup, header.topic, header.queueId, header.commitOffset);
    return responseCommand(request, ResponseCode.SUCCESS, null);
  };
}

/** GET_CONSUMER_LIST_BY_GROUP (38): the live members' client ids. */
export function consumerListProcessor(context: BrokerContext) {
  return (request: RemotingCommand): RemotingCommand => {
    const header = decodeCustomHeader(GetConsumerListByGroupRequestHeader, request.extFields);
    const clientIds = context.consumers.clientIds(header.consumerGroup);
    if (clientIds.length === 0) return responseCommand(request, ResponseCode.SYSTEM_ERROR, `no consumer for this group, ${header.consumerGroup}`);
    return responseCommand(request, ResponseCode.SUCCESS, null, {}, ConsumerListBody.encode({ consumerIdList: clientIds }));
  };
}
