import {
  RequestCode, ResponseCode, type RemotingCommand, SendMessageResponseHeader, TopicRouteData, decodeCustomHeader,
  decodeSendMessageRequestHeader, encodeCustomHeader, GetRouteInfoRequestHeader, responseCommand, type SendMessageRequestHeader,
} from '@tern/protocol';
import { type RemotingChannel, RemotingServer } from '@tern/remoting';

/*
 * Scripted in-process peers for wire-level client tests: a name server answering routes from a table, and brokers
 * that record every request and answer sends with a script. Everything binds 127.0.0.1 on port 0.
 */

export interface Recorded {
  code: number;
  extFields: Record<string, string>;
  body: Buffer | null;
  oneway: boolean;
  channel: RemotingChannel;
}

export type Handler = (request: RemotingCommand, channel: RemotingChannel) => RemotingCommand | null | Promise<RemotingCommand | null>;

export class FakePeer {
  readonly requests: Recorded[] = [];
  readonly handlers = new Map<number, Handler>();
  private constructor(readonly server: RemotingServer, readonly address: string) {}

  static async start(codes: readonly number[] = []): Promise<FakePeer> {
    const server = new RemotingServer({ host: '127.0.0.1', port: 0 });
    const bound = await server.listen();
    const peer = new FakePeer(server, `${bound.host}:${bound.port}`);
    for (const code of codes) peer.listen(code);
    return peer;
  }

  /** Records requests of `code` and answers with the handler set for it (default SUCCESS). */
  listen(code: number): void {
    this.server.registerProcessor(code, (request, channel) => {
      this.requests.push({ code: request.code, extFields: { ...request.extFields }, body: request.body, oneway: (request.flag & 2) !== 0, channel });
      const handler = this.handlers.get(code);
      return handler ? handler(request, channel) : responseCommand(request, ResponseCode.SUCCESS, null);
    });
  }

  of(code: number): Recorded[] {
    return this.requests.filter((r) => r.code === code);
  }

  close(): Promise<void> {
    return this.server.close();
  }
}

/** A name server answering GET_ROUTEINFO_BY_TOPIC from `routes` (TOPIC_NOT_EXIST otherwise). */
export async function fakeNamesrv(routes: Map<string, TopicRouteData>): Promise<FakePeer> {
  const peer = await FakePeer.start([RequestCode.GET_ROUTEINFO_BY_TOPIC]);
  peer.handlers.set(RequestCode.GET_ROUTEINFO_BY_TOPIC, (request) => {
    const { topic } = decodeCustomHeader(GetRouteInfoRequestHeader, request.extFields);
    const route = routes.get(topic);
    if (route === undefined) return responseCommand(request, ResponseCode.TOPIC_NOT_EXIST, `No topic route info in name server for the topic: ${topic}`);
    return responseCommand(request, ResponseCode.SUCCESS, null, {}, TopicRouteData.encode(route));
  });
  return peer;
}

export type SendScript = (header: SendMessageRequestHeader, request: RemotingCommand) => { code: number; remark?: string } | null;

/**
 * A broker that records everything and answers HEART_BEAT / UNREGISTER_CLIENT with SUCCESS and sends per `script`
 * (default SUCCESS with an offset msgId built from a counter). Returning null from the script sends no answer.
 */
export async function fakeBroker(script?: SendScript): Promise<FakePeer & { sent: number }> {
  const peer = await FakePeer.start([
    RequestCode.HEART_BEAT, RequestCode.UNREGISTER_CLIENT, RequestCode.SEND_MESSAGE_V2, RequestCode.SEND_BATCH_MESSAGE,
    RequestCode.GET_CONSUMER_LIST_BY_GROUP,
  ]) as FakePeer & { sent: number };
  peer.sent = 0;
  const answerSend: Handler = (request) => {
    const header = decodeSendMessageRequestHeader(request.code, request.extFields);
    const outcome = script ? script(header, request) : { code: ResponseCode.SUCCESS };
    if (outcome === null) return null;
    if (outcome.code !== 0 && outcome.code !== 10 && outcome.code !== 11 && outcome.code !== 12) {
      return responseCommand(request, outcome.code, outcome.remark ?? null);
    }
    const offset = peer.sent++;
    return responseCommand(request, outcome.code, outcome.remark ?? null, encodeCustomHeader(SendMessageResponseHeader, {
      msgId: `7F00000100002A9F${offset.toString(16).toUpperCase().padStart(16, '0')}`, queueId: header.queueId, queueOffset: offset,
      msgRegion: 'DefaultRegion', traceOn: true,
    }));
  };
  peer.handlers.set(RequestCode.SEND_MESSAGE_V2, answerSend);
  peer.handlers.set(RequestCode.SEND_BATCH_MESSAGE, answerSend);
  return peer;
}

/** A route with one master per broker, `queues` read/write queues each. */
export function routeOf(brokers: Array<{ name: string; address: string; queues?: number; perm?: number }>): TopicRouteData {
  return {
    queueDatas: brokers.map((b) => ({ brokerName: b.name, readQueueNums: b.queues ?? 4, writeQueueNums: b.queues ?? 4, perm: b.perm ?? 6, topicSysFlag: 0 })),
    brokerDatas: brokers.map((b) => ({ cluster: 'DefaultCluster', brokerName: b.name, brokerAddrs: { 0: b.address } })),
    filterServerTable: {},
  };
}

/** TCP sockets, servers and timers the process holds now (node's active resources). */
export function activeHandles(): { sockets: number; servers: number; timers: number } {
  const info = process.getActiveResourcesInfo();
  return {
    sockets: info.filter((r) => r === 'TCPSocketWrap').length,
    servers: info.filter((r) => r === 'TCPServerWrap').length,
    timers: info.filter((r) => r === 'Timeout').length,
  };
}
