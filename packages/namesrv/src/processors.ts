import {
  DeleteKVConfigRequestHeader, DeleteTopicFromNamesrvRequestHeader, GetKVConfigRequestHeader, GetKVConfigResponseHeader,
  GetKVListByNamespaceRequestHeader, GetRouteInfoRequestHeader, KVTable, ClusterInfo, PutKVConfigRequestHeader,
  RegisterBrokerBody, RegisterBrokerRequestHeader, RegisterBrokerResponseHeader, RequestCode, ResponseCode, TopicList,
  TopicRouteData, UnregisterBrokerRequestHeader, bodyCrc32, decodeCustomHeader, defineHeader, encodeCustomHeader,
  headerField, responseCommand, type HeaderOf, type RemotingCommand,
} from '@tern/protocol';
import type { RequestProcessor } from '@tern/remoting';
import { NAMESPACE_ORDER_TOPIC_CONFIG, type KvConfigManager } from './kv-config-manager.js';
import type { RouteInfoManager } from './route-info-manager.js';

/** GET_TOPICS_BY_CLUSTER (224) request header (Java GetTopicsByClusterRequestHeader). */
export const GetTopicsByClusterRequestHeader = defineHeader({
  cluster: headerField.required('string'),
});
export type GetTopicsByClusterRequestHeader = HeaderOf<typeof GetTopicsByClusterRequestHeader>;

export interface NamesrvProcessorDeps {
  routeInfoManager: RouteInfoManager;
  kvConfigManager: KvConfigManager;
}

const EMPTY = Buffer.alloc(0);

function success(request: RemotingCommand, extFields: Record<string, string> = {}, body: Buffer | null = null): RemotingCommand {
  return responseCommand(request, ResponseCode.SUCCESS, null, extFields, body);
}

function systemError(request: RemotingCommand, remark: string): RemotingCommand {
  return responseCommand(request, ResponseCode.SYSTEM_ERROR, remark);
}

/**
 * The name server's request processors by request code (RocketMQ's DefaultRequestProcessor). A missing or malformed
 * header field throws HeaderError, which the remoting server answers with SYSTEM_ERROR (1) and the message as remark;
 * codes not listed here get REQUEST_CODE_NOT_SUPPORTED (3) from the remoting server.
 */
export function namesrvProcessors(deps: NamesrvProcessorDeps): ReadonlyMap<number, RequestProcessor> {
  const { routeInfoManager: routes, kvConfigManager: kv } = deps;
  const processors = new Map<number, RequestProcessor>();

  /*
   * REGISTER_BROKER (103), every 30 s from each broker and on topic changes.
   * In: header brokerName, brokerAddr, clusterName, haServerAddr, brokerId, compressed, bodyCrc32; body
   * RegisterBrokerBody JSON (absent: refresh liveness only).
   * Out: 0 + header masterAddr/haServerAddr (slaves, once their master is registered) + body KVTable of
   * ORDER_TOPIC_CONFIG; 1 for a compressed body, a CRC mismatch, a bad body or bad identity fields.
   */
  processors.set(RequestCode.REGISTER_BROKER, (request, channel) => {
    const header = decodeCustomHeader(RegisterBrokerRequestHeader, request.extFields);
    if (header.compressed) {
      return systemError(request, 'REGISTER_BROKER with compressed=true is not supported by Tern\'s name server: '
        + 'send the RegisterBrokerBody as JSON (broker config compressedRegister=false)');
    }
    const body = request.body ?? EMPTY;
    if (header.bodyCrc32 !== 0 && bodyCrc32(body) !== header.bodyCrc32) {
      return systemError(request, `crc32 not match: header bodyCrc32 ${header.bodyCrc32}, body ${bodyCrc32(body)}`);
    }
    for (const field of ['clusterName', 'brokerName', 'brokerAddr'] as const) {
      if (header[field].length === 0) return systemError(request, `header field ${field} is empty`);
    }
    if (header.brokerId < 0) return systemError(request, `header field brokerId must be >= 0, got ${header.brokerId}`);
    const wrapper = body.length === 0 ? null : RegisterBrokerBody.decode(body).topicConfigSerializeWrapper;
    const result = routes.registerBroker(
      header.clusterName, header.brokerAddr, header.brokerName, header.brokerId, header.haServerAddr, wrapper, channel.id,
    );
    const responseHeader = encodeCustomHeader(RegisterBrokerResponseHeader, { masterAddr: result.masterAddr, haServerAddr: result.haServerAddr });
    return success(request, responseHeader, KVTable.encode({ table: kv.getNamespace(NAMESPACE_ORDER_TOPIC_CONFIG) ?? {} }));
  });

  processors.set(RequestCode.UNREGISTER_BROKER, (request) => {
    const header = decodeCustomHeader(UnregisterBrokerRequestHeader, request.extFields);
    routes.unregisterBroker(header.clusterName, header.brokerAddr, header.brokerName, header.brokerId);
    return success(request);
  });

  processors.set(RequestCode.GET_ROUTEINFO_BY_TOPIC, (request) => {
    const { topic } = decodeCustomHeader(GetRouteInfoRequestHeader, request.extFields);
    const route = routes.pickupTopicRouteData(topic);
    if (route === null) {
      return responseCommand(request, ResponseCode.TOPIC_NOT_EXIST, `No topic route info in name server for the topic: ${topic}`);
    }
    const orderTopicConf = kv.get(NAMESPACE_ORDER_TOPIC_CONFIG, topic);
    if (orderTopicConf !== undefined && orderTopicConf.length > 0) route.orderTopicConf = orderTopicConf;
    // Always standard JSON ({"0":"addr"}), whatever acceptStandardJsonOnly says: every client parses it (remoting.md §1.4).
    return success(request, {}, TopicRouteData.encode(route));
  });

  processors.set(RequestCode.GET_BROKER_CLUSTER_INFO, (request) => success(request, {}, ClusterInfo.encode(routes.getBrokerClusterInfo())));

  processors.set(RequestCode.GET_ALL_TOPIC_LIST_FROM_NAMESERVER, (request) =>
    success(request, {}, TopicList.encode({ topicList: routes.getAllTopicList() })));

  processors.set(RequestCode.DELETE_TOPIC_IN_NAMESRV, (request) => {
    const header = decodeCustomHeader(DeleteTopicFromNamesrvRequestHeader, request.extFields);
    routes.deleteTopic(header.topic, header.clusterName);
    return success(request);
  });

  processors.set(RequestCode.GET_TOPICS_BY_CLUSTER, (request) => {
    const { cluster } = decodeCustomHeader(GetTopicsByClusterRequestHeader, request.extFields);
    return success(request, {}, TopicList.encode({ topicList: routes.getTopicsByCluster(cluster) }));
  });

  processors.set(RequestCode.PUT_KV_CONFIG, async (request) => {
    const header = decodeCustomHeader(PutKVConfigRequestHeader, request.extFields);
    await kv.put(header.namespace, header.key, header.value);
    return success(request);
  });

  processors.set(RequestCode.GET_KV_CONFIG, (request) => {
    const header = decodeCustomHeader(GetKVConfigRequestHeader, request.extFields);
    const value = kv.get(header.namespace, header.key);
    if (value === undefined) {
      return responseCommand(request, ResponseCode.QUERY_NOT_FOUND, `No config item, Namespace: ${header.namespace} Key: ${header.key}`);
    }
    return success(request, encodeCustomHeader(GetKVConfigResponseHeader, { value }));
  });

  processors.set(RequestCode.DELETE_KV_CONFIG, async (request) => {
    const header = decodeCustomHeader(DeleteKVConfigRequestHeader, request.extFields);
    await kv.delete(header.namespace, header.key);
    return success(request);
  });

  processors.set(RequestCode.GET_KVLIST_BY_NAMESPACE, (request) => {
    const { namespace } = decodeCustomHeader(GetKVListByNamespaceRequestHeader, request.extFields);
    const table = kv.getNamespace(namespace);
    if (table === null) return responseCommand(request, ResponseCode.QUERY_NOT_FOUND, `No config item, Namespace: ${namespace}`);
    return success(request, {}, KVTable.encode({ table }));
  });

  return processors;
}
