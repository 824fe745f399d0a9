import { encodeBatchBody } from '@tern/broker';
import {
  CreateTopicRequestHeader, type DecodedMessageRecord, GetMaxOffsetRequestHeader, GetRouteInfoRequestHeader, HeartbeatData,
  OffsetResponseHeader, PullMessageRequestHeader, PullMessageResponseHeader, QueryConsumerOffsetRequestHeader, type RemotingCommand,
  RequestCode, ResponseCode, SendMessageResponseHeader, TopicRouteData, UpdateConsumerOffsetRequestHeader, decodeCustomHeader,
  decodeMessageRecord, encodeCustomHeader, encodeProperties, encodeSendMessageRequestHeader, requestCommand,
} from '@tern/protocol';
import { RemotingClient } from '@tern/remoting';

/*
 * A small raw-protocol client for integration tests: one request per helper, every answer returned as it came (any
 * response code resolves; only transport failures reject), with the interesting header fields decoded.
 */

/** PullSysFlag bits. */
export const PullSysFlag = { COMMIT_OFFSET: 1, SUSPEND: 2, SUBSCRIPTION: 4, CLASS_FILTER: 8 } as const;

export interface Answer {
  code: number;
  remark: string | null;
  response: RemotingCommand;
}

export interface RouteAnswer extends Answer {
  /** The decoded TopicRouteData when code is 0. */
  route: TopicRouteData | null;
}

export interface SendAnswer extends Answer {
  /** Set when the broker answered 0, 10, 11 or 12 (the message is stored). */
  msgId: string | null;
  queueId: number | null;
  queueOffset: number | null;
}

export interface PullAnswer extends Answer {
  /** The four header fields, as the broker sent them (undefined when absent). */
  nextBeginOffset: number | undefined;
  minOffset: number | undefined;
  maxOffset: number | undefined;
  suggestWhichBrokerId: number | undefined;
  /** The decoded records of a FOUND (0) answer. */
  messages: DecodedMessageRecord[];
}

export interface OffsetAnswer extends Answer {
  offset: number | null;
}

export type MessageProperties = Record<string, string> | string;

export interface SendOptions {
  producerGroup?: string;
  /** @defaultValue TBW102 */
  defaultTopic?: string;
  /** @defaultValue 4 */
  defaultTopicQueueNums?: number;
  flag?: number;
  sysFlag?: number;
  reconsumeTimes?: number;
  timeoutMs?: number;
}

export interface PullOptions {
  /** Long-polling hold asked of the broker; 0 = no suspend flag. @defaultValue 0 */
  suspendMs?: number;
  /** @defaultValue '*' */
  subscription?: string;
  /** Sets the COMMIT_OFFSET flag with this offset. */
  commitOffset?: number;
  /** Response deadline. @defaultValue suspendMs + 5000 */
  timeoutMs?: number;
}

export interface CreateTopicOptions {
  readQueueNums?: number;
  writeQueueNums?: number;
  /** @defaultValue 6 */
  perm?: number;
  order?: boolean;
  topicFilterType?: string;
  timeoutMs?: number;
}

export interface HeartbeatOptions {
  clientId?: string;
  consumerGroups?: Array<string | { group: string; topics: string[] }>;
  producerGroups?: string[];
  timeoutMs?: number;
}

/** Send answers that mean "stored" (RocketMQ counts 10, 11 and 12 as sent, with a weaker durability). */
const STORED_CODES: ReadonlySet<number> = new Set([
  ResponseCode.SUCCESS, ResponseCode.FLUSH_DISK_TIMEOUT, ResponseCode.FLUSH_SLAVE_TIMEOUT, ResponseCode.SLAVE_NOT_AVAILABLE,
]);

function optionalNumber(extFields: Record<string, string>, key: string): number | undefined {
  const raw = extFields[key];
  if (raw === undefined) return undefined;
  const value = Number(raw);
  return Number.isFinite(value) ? value : undefined;
}

/** Splits a pull body (stored records back to back, each starting with its int32 total size) into records. */
export function decodePullBody(body: Buffer | null): DecodedMessageRecord[] {
  const records: DecodedMessageRecord[] = [];
  if (body === null) return records;
  let at = 0;
  // Bounded: every pass advances by a positive record size, checked against the body.
  while (at < body.length) {
    if (at + 4 > body.length) throw new RangeError(`pull body: ${body.length - at} trailing bytes at ${at}`);
    const size = body.readInt32BE(at);
    if (size <= 0 || at + size > body.length) throw new RangeError(`pull body: record at ${at} claims ${size} bytes of ${body.length - at}`);
    records.push(decodeMessageRecord(body, at));
    at += size;
  }
  return records;
}

function propertiesText(properties: MessageProperties | undefined): string {
  if (properties === undefined) return '';
  return typeof properties === 'string' ? properties : encodeProperties(properties);
}

export class TestClient {
  readonly remoting: RemotingClient;
  private readonly timeoutMs: number;
  private clientSeq = 0;

  constructor(options: { timeoutMs?: number; connectTimeoutMs?: number } = {}) {
    this.timeoutMs = options.timeoutMs ?? 5_000;
    this.remoting = new RemotingClient({ requestTimeoutMs: this.timeoutMs, connectTimeoutMs: options.connectTimeoutMs ?? 3_000 });
  }

  /** Any request; resolves with the response whatever its code. */
  invoke(address: string, request: RemotingCommand, timeoutMs = this.timeoutMs): Promise<RemotingCommand> {
    return this.remoting.invoke(address, request, timeoutMs);
  }

  /** Raw request with code, extFields and body. */
  async request(address: string, code: number, extFields: Record<string, string | number | boolean> = {}, body: Buffer | null = null,
    timeoutMs = this.timeoutMs): Promise<Answer> {
    const response = await this.invoke(address, requestCommand(code, extFields, body), timeoutMs);
    return { code: response.code, remark: response.remark, response };
  }

  /** GET_ROUTEINFO_BY_TOPIC (105) from a name server. */
  async getRoute(namesrv: string, topic: string, timeoutMs = this.timeoutMs): Promise<RouteAnswer> {
    const response = await this.invoke(namesrv,
      requestCommand(RequestCode.GET_ROUTEINFO_BY_TOPIC, encodeCustomHeader(GetRouteInfoRequestHeader, { topic })), timeoutMs);
    const route = response.code === ResponseCode.SUCCESS && response.body !== null ? TopicRouteData.decode(response.body) : null;
    return { code: response.code, remark: response.remark, response, route };
  }

  /** SEND_MESSAGE_V2 (310): one message. */
  async send(broker: string, topic: string, queueId: number, body: Buffer | string, properties?: MessageProperties,
    options: SendOptions = {}): Promise<SendAnswer> {
    const payload = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
    return this.sendRequest(broker, RequestCode.SEND_MESSAGE_V2, topic, queueId, payload, propertiesText(properties), false, options);
  }

  /** SEND_BATCH_MESSAGE (320): several messages of one topic and queue in one request. */
  async sendBatch(broker: string, topic: string, queueId: number,
    messages: Array<Buffer | string | { body: Buffer | string; properties?: MessageProperties; flag?: number }>,
    properties?: MessageProperties, options: SendOptions = {}): Promise<SendAnswer> {
    const encoded = encodeBatchBody(messages.map((m) => {
      const item = typeof m === 'string' || Buffer.isBuffer(m) ? { body: m } : m;
      return {
        flag: 'flag' in item ? item.flag ?? 0 : 0,
        body: typeof item.body === 'string' ? Buffer.from(item.body, 'utf8') : item.body,
        properties: propertiesText('properties' in item ? item.properties : undefined),
      };
    }));
    return this.sendRequest(broker, RequestCode.SEND_BATCH_MESSAGE, topic, queueId, encoded, propertiesText(properties), true, options);
  }

  private async sendRequest(broker: string, code: number, topic: string, queueId: number, body: Buffer, properties: string,
    batch: boolean, options: SendOptions): Promise<SendAnswer> {
    const header = encodeSendMessageRequestHeader(code, {
      producerGroup: options.producerGroup ?? 'testkit-producer', topic, defaultTopic: options.defaultTopic ?? 'TBW102',
      defaultTopicQueueNums: options.defaultTopicQueueNums ?? 4, queueId, sysFlag: options.sysFlag ?? 0,
      bornTimestamp: Date.now(), flag: options.flag ?? 0, properties, reconsumeTimes: options.reconsumeTimes ?? 0,
      unitMode: false, batch,
    });
    const response = await this.invoke(broker, requestCommand(code, header, body), options.timeoutMs ?? this.timeoutMs);
    const stored = STORED_CODES.has(response.code);
    const decoded = stored ? decodeCustomHeader(SendMessageResponseHeader, response.extFields) : null;
    return {
      code: response.code, remark: response.remark, response,
      msgId: decoded?.msgId ?? null, queueId: decoded?.queueId ?? null, queueOffset: decoded?.queueOffset ?? null,
    };
  }

  /** PULL_MESSAGE (11), decoding the records of a FOUND answer. */
  async pull(broker: string, group: string, topic: string, queueId: number, offset: number, maxMsgNums: number,
    options: PullOptions = {}): Promise<PullAnswer> {
    const suspendMs = options.suspendMs ?? 0;
    let sysFlag = PullSysFlag.SUBSCRIPTION;
    if (suspendMs > 0) sysFlag |= PullSysFlag.SUSPEND;
    if (options.commitOffset !== undefined) sysFlag |= PullSysFlag.COMMIT_OFFSET;
    const header = encodeCustomHeader(PullMessageRequestHeader, {
      consumerGroup: group, topic, queueId, queueOffset: offset, maxMsgNums, sysFlag,
      commitOffset: options.commitOffset ?? 0, suspendTimeoutMillis: suspendMs, subscription: options.subscription ?? '*', subVersion: 0,
    });
    const response = await this.invoke(broker, requestCommand(RequestCode.PULL_MESSAGE, header),
      options.timeoutMs ?? suspendMs + this.timeoutMs);
    const f = response.extFields;
    return {
      code: response.code, remark: response.remark, response,
      nextBeginOffset: optionalNumber(f, 'nextBeginOffset'), minOffset: optionalNumber(f, 'minOffset'),
      maxOffset: optionalNumber(f, 'maxOffset'), suggestWhichBrokerId: optionalNumber(f, 'suggestWhichBrokerId'),
      messages: response.code === ResponseCode.SUCCESS ? decodePullBody(response.body) : [],
    };
  }

  /**
   * Pulls a queue from `fromOffset` until the broker says there is nothing more (19), returning every record in
   * order. Bounded: at most `maxRounds` pulls (each must advance), no suspend.
   */
  async pullAll(broker: string, group: string, topic: string, queueId: number,
    options: { fromOffset?: number; batch?: number; maxRounds?: number } = {}): Promise<DecodedMessageRecord[]> {
    const out: DecodedMessageRecord[] = [];
    let offset = options.fromOffset ?? 0;
    const maxRounds = options.maxRounds ?? 10_000;
    for (let round = 0; round < maxRounds; round++) {
      const answer = await this.pull(broker, group, topic, queueId, offset, options.batch ?? 256);
      if (answer.code === ResponseCode.PULL_NOT_FOUND) return out;
      if (answer.code !== ResponseCode.SUCCESS) {
        throw new Error(`pullAll ${topic}/${queueId} at ${offset}: code ${answer.code} ${answer.remark ?? ''} (next ${answer.nextBeginOffset})`);
      }
      out.push(...answer.messages);
      const next = answer.nextBeginOffset;
      if (next === undefined || next <= offset) throw new Error(`pullAll ${topic}/${queueId}: nextBeginOffset ${next} does not advance from ${offset}`);
      offset = next;
    }
    throw new Error(`pullAll ${topic}/${queueId}: more than ${maxRounds} rounds`);
  }

  /** HEART_BEAT (34) registering consumer groups (subscribed to `*` of their topics) and producer groups. */
  async heartbeat(broker: string, options: HeartbeatOptions = {}): Promise<Answer> {
    const clientID = options.clientId ?? `127.0.0.1@testkit-${process.pid}-${++this.clientSeq}`;
    const body = HeartbeatData.encode({
      clientID,
      producerDataSet: (options.producerGroups ?? []).map((groupName) => ({ groupName })),
      consumerDataSet: (options.consumerGroups ?? []).map((entry) => {
        const { group, topics } = typeof entry === 'string' ? { group: entry, topics: [] } : entry;
        return {
          groupName: group, consumeType: 'CONSUME_ACTIVELY', messageModel: 'CLUSTERING', consumeFromWhere: 'CONSUME_FROM_FIRST_OFFSET',
          unitMode: false,
          subscriptionDataSet: topics.map((topic) => ({
            topic, subString: '*', classFilterMode: false, tagsSet: [], codeSet: [], subVersion: Date.now(),
          })),
        };
      }),
    });
    return this.request(broker, RequestCode.HEART_BEAT, {}, body, options.timeoutMs);
  }

  /** QUERY_CONSUMER_OFFSET (14). */
  async queryOffset(broker: string, group: string, topic: string, queueId: number): Promise<OffsetAnswer> {
    const response = await this.invoke(broker, requestCommand(RequestCode.QUERY_CONSUMER_OFFSET,
      encodeCustomHeader(QueryConsumerOffsetRequestHeader, { consumerGroup: group, topic, queueId })));
    const offset = response.code === ResponseCode.SUCCESS ? decodeCustomHeader(OffsetResponseHeader, response.extFields).offset : null;
    return { code: response.code, remark: response.remark, response, offset };
  }

  /** UPDATE_CONSUMER_OFFSET (15), as a normal request (the answer is returned). */
  async updateOffset(broker: string, group: string, topic: string, queueId: number, offset: number): Promise<Answer> {
    return this.request(broker, RequestCode.UPDATE_CONSUMER_OFFSET,
      encodeCustomHeader(UpdateConsumerOffsetRequestHeader, { consumerGroup: group, topic, queueId, commitOffset: offset }));
  }

  /** GET_MAX_OFFSET (30). */
  async getMaxOffset(broker: string, topic: string, queueId: number): Promise<OffsetAnswer> {
    const response = await this.invoke(broker, requestCommand(RequestCode.GET_MAX_OFFSET,
      encodeCustomHeader(GetMaxOffsetRequestHeader, { topic, queueId })));
    const offset = response.code === ResponseCode.SUCCESS ? decodeCustomHeader(OffsetResponseHeader, response.extFields).offset : null;
    return { code: response.code, remark: response.remark, response, offset };
  }

  /** UPDATE_AND_CREATE_TOPIC (17). */
  async createTopic(broker: string, topic: string, options: CreateTopicOptions = {}): Promise<Answer> {
    const queues = options.writeQueueNums ?? options.readQueueNums ?? 8;
    return this.request(broker, RequestCode.UPDATE_AND_CREATE_TOPIC, encodeCustomHeader(CreateTopicRequestHeader, {
      topic, defaultTopic: 'TBW102', readQueueNums: options.readQueueNums ?? queues, writeQueueNums: options.writeQueueNums ?? queues,
      perm: options.perm ?? 6, topicFilterType: options.topicFilterType ?? 'SINGLE_TAG', order: options.order ?? false,
    }), null, options.timeoutMs);
  }

  /** Closes every connection. */
  close(): Promise<void> {
    return this.remoting.close();
  }
}
