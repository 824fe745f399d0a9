import {
  HeartbeatData, NotifyConsumerIdsChangedRequestHeader, type RemotingCommand, RequestCode, ResponseCode,
  UnregisterClientRequestHeader, decodeCustomHeader, encodeCustomHeader, requestCommand, responseCommand,
} from '@tern/protocol';
import type { RemotingChannel } from '@tern/remoting';
import type { BrokerContext } from '../broker-context.js';
import type { ConsumerGroupInfo } from '../client/consumer-manager.js';
import { RETRY_GROUP_TOPIC_PREFIX } from '../topic/topic-config-manager.js';

/**
 * HEART_BEAT (34): registers producers and consumers on this channel. For every consumer group the group config and
 * its `%RETRY%<group>` topic are created, and the name servers learn the retry topic before the reply goes out
 * (ali-ons asks for its route right after the heartbeat).
 */
export function heartbeatProcessor(context: BrokerContext) {
  return async (request: RemotingCommand, channel: RemotingChannel): Promise<RemotingCommand> => {
    if (!request.body) return responseCommand(request, ResponseCode.SYSTEM_ERROR, 'HEART_BEAT without a body');
    const heartbeat = HeartbeatData.decode(request.body);
    let newTopics = false;
    for (const consumer of heartbeat.consumerDataSet) {
      const group = await context.groups.findOrCreate(consumer.groupName);
      if (!group) continue;
      const retryTopic = RETRY_GROUP_TOPIC_PREFIX + consumer.groupName;
      if (!context.topics.get(retryTopic)) {
        await context.topics.ensure(retryTopic, group.retryQueueNums);
        newTopics = true;
      }
      context.consumers.register(consumer, heartbeat.clientID, channel, request.version);
    }
    for (const producer of heartbeat.producerDataSet) context.producers.register(producer.groupName, heartbeat.clientID, channel);
    if (newTopics) await context.registerWithNameServers();
    return responseCommand(request, ResponseCode.SUCCESS, null);
  };
}

/** UNREGISTER_CLIENT (35): removes the producer and/or consumer registration of this client; always SUCCESS. */
export function unregisterClientProcessor(context: BrokerContext) {
  return (request: RemotingCommand, channel: RemotingChannel): RemotingCommand => {
    const header = decodeCustomHeader(UnregisterClientRequestHeader, request.extFields);
    if (header.producerGroup) context.producers.unregister(header.producerGroup, channel);
    if (header.consumerGroup) context.consumers.unregister(header.consumerGroup, header.clientID);
    return responseCommand(request, ResponseCode.SUCCESS, null);
  };
}

/** Pushes NOTIFY_CONSUMER_IDS_CHANGED (oneway) to every member of a group whose membership changed. */
export function notifyConsumerIdsChanged(context: BrokerContext, group: ConsumerGroupInfo): void {
  const config = context.groups.get(group.groupName);
  if (config && !config.notifyConsumerIdsChangedEnable) return;
  const notify = requestCommand(RequestCode.NOTIFY_CONSUMER_IDS_CHANGED,
    encodeCustomHeader(NotifyConsumerIdsChangedRequestHeader, { consumerGroup: group.groupName }), null, { oneway: true });
  for (const client of group.clients.values()) {
    if (client.channel.closed) continue;
    try {
      client.channel.oneway({ ...notify });
    } catch (error) {
      context.logger.debug('NOTIFY_CONSUMER_IDS_CHANGED not sent', { clientId: client.clientId, error: (error as Error).message });
    }
  }
}
