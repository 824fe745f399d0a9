import {
  ClusterInfo, CreateTopicRequestHeader, DeleteTopicFromNamesrvRequestHeader, DeleteTopicRequestHeader, GetRouteInfoRequestHeader,
  type RemotingCommand, RequestCode, ResponseCode, TopicList, TopicRouteData, encodeCustomHeader, requestCommand, responseCodeInfo,
} from '@tern/protocol';
import { RemotingClient } from '@tern/remoting';

const ADMIN_TIMEOUT_MS = 5_000;

/** A failed admin call: one line for the user, with RocketMQ's code name and remark. */
export class AdminError extends Error {}

/** The few name server and broker requests the admin commands need (mqadmin's, over the remoting protocol). */
export class AdminClient {
  private readonly client = new RemotingClient({ requestTimeoutMs: ADMIN_TIMEOUT_MS });

  constructor(private readonly namesrvAddrs: string[]) {
    if (namesrvAddrs.length === 0) throw new AdminError('no name server: pass -n host:port or set NAMESRV_ADDR');
  }

  private async call(address: string, request: RemotingCommand, what: string): Promise<RemotingCommand> {
    let response: RemotingCommand;
    try {
      response = await this.client.invoke(address, request, ADMIN_TIMEOUT_MS);
    } catch (error) {
      throw new AdminError(`${what}: ${address} did not answer (${(error as Error).message})`);
    }
    if (response.code !== ResponseCode.SUCCESS) {
      const name = responseCodeInfo(response.code)?.name ?? String(response.code);
      throw new AdminError(`${what}: ${address} answered ${name}${response.remark ? `: ${response.remark}` : ''}`);
    }
    return response;
  }

  /** Tries each name server in turn; the first answer wins. */
  private async namesrv(request: RemotingCommand, what: string): Promise<RemotingCommand> {
    let last: Error | null = null;
    for (const address of this.namesrvAddrs) {
      try {
        return await this.call(address, request, what);
      } catch (error) {
        last = error as Error;
      }
    }
    throw last ?? new AdminError(`${what}: no name server`);
  }

  async clusterInfo(): Promise<ClusterInfo> {
    const response = await this.namesrv(requestCommand(RequestCode.GET_BROKER_CLUSTER_INFO), 'clusterList');
    return ClusterInfo.decode(response.body ?? Buffer.from('{}'));
  }

  async topicRoute(topic: string): Promise<TopicRouteData> {
    const response = await this.namesrv(requestCommand(RequestCode.GET_ROUTEINFO_BY_TOPIC,
      encodeCustomHeader(GetRouteInfoRequestHeader, { topic })), `topicRoute ${topic}`);
    return TopicRouteData.decode(response.body ?? Buffer.from('{}'));
  }

  async topicList(): Promise<string[]> {
    const response = await this.namesrv(requestCommand(RequestCode.GET_ALL_TOPIC_LIST_FROM_NAMESERVER), 'topicList');
    return TopicList.decode(response.body ?? Buffer.from('{}')).topicList.sort();
  }

  /** Master addresses of every broker group of a cluster. */
  async clusterMasters(cluster: string): Promise<string[]> {
    const info = await this.clusterInfo();
    const brokerNames = info.clusterAddrTable[cluster];
    if (!brokerNames || brokerNames.length === 0) throw new AdminError(`cluster ${cluster} has no broker registered with the name server`);
    return brokerNames.map((name) => info.brokerAddrTable[name]?.brokerAddrs['0']).filter((a): a is string => typeof a === 'string');
  }

  async createTopic(brokerAddr: string, topic: { name: string; readQueueNums: number; writeQueueNums: number; perm: number; order: boolean }): Promise<void> {
    await this.call(brokerAddr, requestCommand(RequestCode.UPDATE_AND_CREATE_TOPIC, encodeCustomHeader(CreateTopicRequestHeader, {
      topic: topic.name, defaultTopic: 'TBW102', readQueueNums: topic.readQueueNums, writeQueueNums: topic.writeQueueNums,
      perm: topic.perm, topicFilterType: 'SINGLE_TAG', topicSysFlag: 0, order: topic.order,
    })), `updateTopic ${topic.name}`);
  }

  async deleteTopic(brokerAddr: string, topic: string): Promise<void> {
    await this.call(brokerAddr, requestCommand(RequestCode.DELETE_TOPIC_IN_BROKER, encodeCustomHeader(DeleteTopicRequestHeader, { topic })),
      `deleteTopic ${topic}`);
  }

  async deleteTopicInNamesrvs(topic: string, cluster: string): Promise<void> {
    for (const address of this.namesrvAddrs) {
      await this.call(address, requestCommand(RequestCode.DELETE_TOPIC_IN_NAMESRV,
        encodeCustomHeader(DeleteTopicFromNamesrvRequestHeader, { topic, clusterName: cluster })), `deleteTopic ${topic}`);
    }
  }

  close(): Promise<void> {
    return this.client.close();
  }
}
