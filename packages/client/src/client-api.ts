import {
  ConsumerListBody, GetConsumerListByGroupRequestHeader, GetRouteInfoRequestHeader, HeartbeatData, type RemotingCommand, RequestCode,
  ResponseCode, TopicRouteData, UnregisterClientRequestHeader, encodeCustomHeader, requestCommand,
} from '@tern/protocol';
import { type ErrorContext, MQBrokerError, MQClientError } from './errors.js';

/*
 * The small requests of RocketMQ's MQClientAPIImpl: how each is built and how its answer is read. No I/O here;
 * ClientInstance sends them.
 */

/** GET_ROUTEINFO_BY_TOPIC (105), header `topic` (Java 4.9 sends nothing else). */
export function routeRequest(topic: string): RemotingCommand {
  return requestCommand(RequestCode.GET_ROUTEINFO_BY_TOPIC, encodeCustomHeader(GetRouteInfoRequestHeader, { topic }));
}

/**
 * Reads a route answer: the route on SUCCESS, null on TOPIC_NOT_EXIST (the name server knows no broker with the
 * topic), MQClientError otherwise (the name server's code and remark kept).
 */
export function readRouteResponse(response: RemotingCommand, context: ErrorContext): TopicRouteData | null {
  if (response.code === ResponseCode.TOPIC_NOT_EXIST) return null;
  if (response.code !== ResponseCode.SUCCESS) {
    throw new MQClientError(`route lookup failed: ${response.remark ?? `code ${response.code}`}`, {
      ...context, code: response.code, remark: response.remark,
    });
  }
  if (response.body === null || response.body.length === 0) {
    throw new MQClientError('route lookup answered SUCCESS without a body', { ...context, code: ResponseCode.SYSTEM_ERROR, retriable: true });
  }
  try {
    return TopicRouteData.decode(response.body);
  } catch (error) {
    throw new MQClientError(`route body does not decode: ${(error as Error).message}`, { ...context, cause: error, retriable: true });
  }
}

/** HEART_BEAT (34): no header, HeartbeatData JSON body. */
export function heartbeatRequest(data: HeartbeatData): RemotingCommand {
  return requestCommand(RequestCode.HEART_BEAT, {}, HeartbeatData.encode(data));
}

/** UNREGISTER_CLIENT (35): `clientID` and one of producerGroup / consumerGroup (the other left out, as Java does). */
export function unregisterClientRequest(clientId: string, group: { producerGroup?: string; consumerGroup?: string }): RemotingCommand {
  return requestCommand(RequestCode.UNREGISTER_CLIENT, encodeCustomHeader(UnregisterClientRequestHeader, {
    clientID: clientId, producerGroup: group.producerGroup ?? null, consumerGroup: group.consumerGroup ?? null,
  }));
}

/** GET_CONSUMER_LIST_BY_GROUP (38). */
export function consumerListRequest(consumerGroup: string): RemotingCommand {
  return requestCommand(RequestCode.GET_CONSUMER_LIST_BY_GROUP, encodeCustomHeader(GetConsumerListByGroupRequestHeader, { consumerGroup }));
}

/** The member client ids of a GET_CONSUMER_LIST_BY_GROUP answer; MQBrokerError for any other code. */
export function readConsumerListResponse(response: RemotingCommand, brokerAddr: string, context: ErrorContext): string[] {
  if (response.code !== ResponseCode.SUCCESS) throw new MQBrokerError(response.code, response.remark, brokerAddr, context);
  if (response.body === null || response.body.length === 0) return [];
  try {
    return ConsumerListBody.decode(response.body).consumerIdList;
  } catch (error) {
    throw new MQClientError(`consumer list body does not decode: ${(error as Error).message}`, { ...context, brokerAddr, cause: error });
  }
}
