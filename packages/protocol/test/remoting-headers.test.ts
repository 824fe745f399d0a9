import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ProtocolError } from '@tern/common';
import {
  ClusterInfo,
  ConsumerListBody,
  HeaderError,
  HeartbeatData,
  KVTable,
  LockBatchRequestBody,
  LockBatchResponseBody,
  PullMessageRequestHeader,
  PullMessageResponseHeader,
  QueryMessageRequestHeader,
  RESPONSE_CODE_TABLE,
  RegisterBrokerBody,
  RequestCode,
  RequestHeaders,
  ResponseCode,
  ResponseHeaders,
  SEND_MESSAGE_V2_KEYS,
  SendMessageRequestHeader,
  SendMessageRequestHeaderV2,
  SendMessageResponseHeader,
  TopicList,
  TopicRouteData,
  UnlockBatchRequestBody,
  decodeCustomHeader,
  decodeRequestHeader,
  decodeResponseHeader,
  decodeSendMessageRequestHeader,
  encodeCustomHeader,
  encodeSendMessageRequestHeader,
  isRetriableResponseCode,
  quoteBareIntegerKeys,
  requestCodeName,
  requestHeaderSchema,
  responseCodeInfo,
  sendMessageHeaderV1ToV2,
  sendMessageHeaderV2ToV1,
  wireKey,
} from '../src/index.js';
import type { HeaderField, HeaderSchema, TopicRouteData as TopicRouteDataType } from '../src/index.js';
import * as protocol from '../src/index.js';

// remoting.md §7.1 and §7.2, copied verbatim.
const SPEC_REQUEST_CODES = `SEND_MESSAGE 10, PULL_MESSAGE 11, QUERY_MESSAGE 12, QUERY_BROKER_OFFSET 13, QUERY_CONSUMER_OFFSET 14,
UPDATE_CONSUMER_OFFSET 15, UPDATE_AND_CREATE_TOPIC 17, GET_ALL_TOPIC_CONFIG 21, GET_TOPIC_CONFIG_LIST 22,
GET_TOPIC_NAME_LIST 23, UPDATE_BROKER_CONFIG 25, GET_BROKER_CONFIG 26, TRIGGER_DELETE_FILES 27,
GET_BROKER_RUNTIME_INFO 28, SEARCH_OFFSET_BY_TIMESTAMP 29, GET_MAX_OFFSET 30, GET_MIN_OFFSET 31,
GET_EARLIEST_MSG_STORETIME 32, VIEW_MESSAGE_BY_ID 33, HEART_BEAT 34, UNREGISTER_CLIENT 35, CONSUMER_SEND_MSG_BACK 36,
END_TRANSACTION 37, GET_CONSUMER_LIST_BY_GROUP 38, CHECK_TRANSACTION_STATE 39, NOTIFY_CONSUMER_IDS_CHANGED 40,
LOCK_BATCH_MQ 41, UNLOCK_BATCH_MQ 42, GET_ALL_CONSUMER_OFFSET 43, GET_ALL_DELAY_OFFSET 45, CHECK_CLIENT_CONFIG 46,
UPDATE_AND_CREATE_ACL_CONFIG 50, DELETE_ACL_CONFIG 51, GET_BROKER_CLUSTER_ACL_INFO 52,
UPDATE_GLOBAL_WHITE_ADDRS_CONFIG 53, PUT_KV_CONFIG 100, GET_KV_CONFIG 101, DELETE_KV_CONFIG 102, REGISTER_BROKER 103,
UNREGISTER_BROKER 104, GET_ROUTEINFO_BY_TOPIC 105, GET_BROKER_CLUSTER_INFO 106,
UPDATE_AND_CREATE_SUBSCRIPTIONGROUP 200, GET_ALL_SUBSCRIPTIONGROUP_CONFIG 201, GET_TOPIC_STATS_INFO 202,
GET_CONSUMER_CONNECTION_LIST 203, GET_PRODUCER_CONNECTION_LIST 204, WIPE_WRITE_PERM_OF_BROKER 205,
GET_ALL_TOPIC_LIST_FROM_NAMESERVER 206, DELETE_SUBSCRIPTIONGROUP 207, GET_CONSUME_STATS 208, SUSPEND_CONSUMER 209,
RESUME_CONSUMER 210, RESET_CONSUMER_OFFSET_IN_CONSUMER 211, RESET_CONSUMER_OFFSET_IN_BROKER 212,
ADJUST_CONSUMER_THREAD_POOL 213, WHO_CONSUME_THE_MESSAGE 214, DELETE_TOPIC_IN_BROKER 215, DELETE_TOPIC_IN_NAMESRV 216,
GET_KVLIST_BY_NAMESPACE 219, RESET_CONSUMER_CLIENT_OFFSET 220, GET_CONSUMER_STATUS_FROM_CLIENT 221,
INVOKE_BROKER_TO_RESET_OFFSET 222, INVOKE_BROKER_TO_GET_CONSUMER_STATUS 223, GET_TOPICS_BY_CLUSTER 224,
QUERY_TOPIC_CONSUME_BY_WHO 300, REGISTER_FILTER_SERVER 301, REGISTER_MESSAGE_FILTER_CLASS 302,
QUERY_CONSUME_TIME_SPAN 303, GET_SYSTEM_TOPIC_LIST_FROM_NS 304, GET_SYSTEM_TOPIC_LIST_FROM_BROKER 305,
CLEAN_EXPIRED_CONSUMEQUEUE 306, GET_CONSUMER_RUNNING_INFO 307, QUERY_CORRECTION_OFFSET 308,
CONSUME_MESSAGE_DIRECTLY 309, SEND_MESSAGE_V2 310, GET_UNIT_TOPIC_LIST 311, GET_HAS_UNIT_SUB_TOPIC_LIST 312,
GET_HAS_UNIT_SUB_UNUNIT_TOPIC_LIST 313, CLONE_GROUP_OFFSET 314, VIEW_BROKER_STATS_DATA 315, CLEAN_UNUSED_TOPIC 316,
GET_BROKER_CONSUME_STATS 317, UPDATE_NAMESRV_CONFIG 318, GET_NAMESRV_CONFIG 319, SEND_BATCH_MESSAGE 320,
QUERY_CONSUME_QUEUE 321, QUERY_DATA_VERSION 322, RESUME_CHECK_HALF_MESSAGE 323, SEND_REPLY_MESSAGE 324,
SEND_REPLY_MESSAGE_V2 325, PUSH_REPLY_MESSAGE_TO_CLIENT 326, ADD_WRITE_PERM_OF_BROKER 327, GET_ALL_PRODUCER_INFO 328,
DELETE_EXPIRED_COMMITLOG 329.`;

const SPEC_RESPONSE_CODES = `SUCCESS 0, SYSTEM_ERROR 1, SYSTEM_BUSY 2, REQUEST_CODE_NOT_SUPPORTED 3, TRANSACTION_FAILED 4, FLUSH_DISK_TIMEOUT 10,
SLAVE_NOT_AVAILABLE 11, FLUSH_SLAVE_TIMEOUT 12, MESSAGE_ILLEGAL 13, SERVICE_NOT_AVAILABLE 14, VERSION_NOT_SUPPORTED 15,
NO_PERMISSION 16, TOPIC_NOT_EXIST 17, TOPIC_EXIST_ALREADY 18, PULL_NOT_FOUND 19, PULL_RETRY_IMMEDIATELY 20,
PULL_OFFSET_MOVED 21, QUERY_NOT_FOUND 22, SUBSCRIPTION_PARSE_FAILED 23, SUBSCRIPTION_NOT_EXIST 24,
SUBSCRIPTION_NOT_LATEST 25, SUBSCRIPTION_GROUP_NOT_EXIST 26, FILTER_DATA_NOT_EXIST 27, FILTER_DATA_NOT_LATEST 28,
TRANSACTION_SHOULD_COMMIT 200, TRANSACTION_SHOULD_ROLLBACK 201, TRANSACTION_STATE_UNKNOW 202,
TRANSACTION_STATE_GROUP_WRONG 203, NO_BUYER_ID 204, NOT_IN_CURRENT_UNIT 205, CONSUMER_NOT_ONLINE 206,
CONSUME_MSG_TIMEOUT 207, NO_MESSAGE 208, UPDATE_AND_CREATE_ACL_CONFIG_FAILED 209, DELETE_ACL_CONFIG_FAILED 210,
UPDATE_GLOBAL_WHITE_ADDRS_CONFIG_FAILED 211, FLOW_CONTROL 215.`;

function specPairs(text: string): [string, number][] {
  return [...text.matchAll(/([A-Z0-9_]+) (\d+)/g)].map((m) => [m[1]!, Number(m[2])]);
}

/** Every header schema the package exports: anything whose values are all header field specs. */
function exportedSchemas(): [string, HeaderSchema][] {
  const isField = (v: unknown): v is HeaderField =>
    typeof v === 'object' && v !== null && 'presence' in v && 'type' in v && ['required', 'optional', 'default'].includes(String((v as { presence: unknown }).presence));
  return Object.entries(protocol).filter(
    (entry): entry is [string, HeaderSchema] =>
      typeof entry[1] === 'object' && entry[1] !== null && Object.keys(entry[1]).length > 0 && Object.values(entry[1]).every(isField),
  );
}

function sampleWire(spec: HeaderField, index: number): string {
  switch (spec.type) {
    case 'string':
      return `value-${index}`;
    case 'int':
      return String(-3 + index);
    case 'long':
      return String(1_700_000_000_000 + index);
    case 'boolean':
      return index % 2 === 0 ? 'true' : 'false';
  }
}

function sampleExtFields(schema: HeaderSchema): Record<string, string> {
  const out: Record<string, string> = {};
  Object.entries(schema).forEach(([property, spec], index) => {
    out[wireKey(property, spec)] = sampleWire(spec, index);
  });
  return out;
}

function throwsHeaderError(fn: () => unknown, field: string, message: RegExp | string): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof HeaderError, `expected HeaderError, got ${String(error)}`);
    assert.ok(error instanceof ProtocolError);
    assert.equal(error.field, field);
    if (typeof message === 'string') assert.equal(error.message, message);
    else assert.match(error.message, message);
    return true;
  });
}

describe('request codes', () => {
  it('has every code of remoting.md §7.1 under its name, names and codes unique', () => {
    const pairs = specPairs(SPEC_REQUEST_CODES);
    assert.equal(pairs.length, 95);
    for (const [name, code] of pairs) {
      assert.equal((RequestCode as Record<string, number>)[name], code, name);
      assert.equal(requestCodeName(code), name);
    }
    const codes = Object.values(RequestCode);
    assert.equal(new Set(codes).size, codes.length, 'codes unique');
    assert.equal(requestCodeName(9999), undefined);
    assert.equal(requestCodeName(RequestCode.GET_KV_CONFIG_BY_VALUE), 'GET_KV_CONFIG_BY_VALUE');
  });
});

describe('response codes', () => {
  it('has every code of remoting.md §7.2, with unique names and codes', () => {
    const pairs = specPairs(SPEC_RESPONSE_CODES);
    assert.equal(pairs.length, 37);
    for (const [name, code] of pairs) {
      assert.equal((ResponseCode as Record<string, number>)[name], code, name);
      const info = responseCodeInfo(code);
      assert.ok(info, `code ${code}`);
      assert.equal(info.name, name);
      assert.ok(info.message.length > 0);
    }
    const names = RESPONSE_CODE_TABLE.map((e) => e.name);
    const codes = RESPONSE_CODE_TABLE.map((e) => e.code);
    assert.equal(new Set(names).size, names.length, 'names unique');
    assert.equal(new Set(codes).size, codes.length, 'codes unique');
    assert.equal(RESPONSE_CODE_TABLE.length, pairs.length, 'nothing beyond §7.2');
    assert.equal(responseCodeInfo(9999), undefined);
  });

  it('marks exactly the codes a producer retries on as retriable', () => {
    const retriable = RESPONSE_CODE_TABLE.filter((e) => e.retriable).map((e) => e.code);
    assert.deepEqual(retriable, [1, 2, 14, 16, 17, 204, 205]);
    assert.equal(isRetriableResponseCode(ResponseCode.FLUSH_DISK_TIMEOUT), false);
    assert.equal(isRetriableResponseCode(ResponseCode.TOPIC_NOT_EXIST), true);
    assert.equal(isRetriableResponseCode(12345), false);
  });
});

describe('custom headers: every schema', () => {
  const schemas = exportedSchemas();

  it('finds the schemas of the milestone', () => {
    const names = schemas.map(([name]) => name);
    for (const expected of [
      'SendMessageRequestHeader', 'SendMessageRequestHeaderV2', 'SendMessageResponseHeader', 'PullMessageRequestHeader',
      'PullMessageResponseHeader', 'QueryConsumerOffsetRequestHeader', 'UpdateConsumerOffsetRequestHeader', 'GetMaxOffsetRequestHeader',
      'GetMinOffsetRequestHeader', 'SearchOffsetRequestHeader', 'GetEarliestMsgStoretimeRequestHeader', 'ViewMessageRequestHeader',
      'QueryMessageRequestHeader', 'QueryMessageResponseHeader', 'UnregisterClientRequestHeader', 'GetConsumerListByGroupRequestHeader',
      'NotifyConsumerIdsChangedRequestHeader', 'CreateTopicRequestHeader', 'DeleteTopicRequestHeader', 'DeleteTopicFromNamesrvRequestHeader',
      'GetRouteInfoRequestHeader', 'RegisterBrokerRequestHeader', 'RegisterBrokerResponseHeader', 'UnregisterBrokerRequestHeader',
      'PutKVConfigRequestHeader', 'GetKVConfigRequestHeader', 'DeleteKVConfigRequestHeader', 'GetKVListByNamespaceRequestHeader',
      'ConsumerSendMsgBackRequestHeader', 'EndTransactionRequestHeader', 'GetConsumerRunningInfoRequestHeader',
      'CheckTransactionStateRequestHeader', 'OffsetResponseHeader',
    ]) {
      assert.ok(names.includes(expected), expected);
    }
  });

  it('decodes valid fields of every schema and encodes them back to the same extFields', () => {
    for (const [name, schema] of schemas) {
      const ext = sampleExtFields(schema);
      const decoded = decodeCustomHeader(schema, { ...ext, Signature: 'ignored', AccessKey: 'ignored' }) as Record<string, unknown>;
      Object.entries(schema).forEach(([property, spec], index) => {
        const wire = sampleWire(spec, index);
        const expected = spec.type === 'string' ? wire : spec.type === 'boolean' ? wire === 'true' : Number(wire);
        assert.equal(decoded[property], expected, `${name}.${property}`);
      });
      assert.deepEqual(encodeCustomHeader(schema, decoded as never), ext, name);
    }
  });

  it('names each missing required field; fills defaults; leaves optional ones out', () => {
    for (const [name, schema] of schemas) {
      const ext = sampleExtFields(schema);
      for (const [property, spec] of Object.entries(schema)) {
        const without = { ...ext };
        delete without[wireKey(property, spec)];
        const wire = wireKey(property, spec);
        const label = wire === property ? property : `${wire} (${property})`;
        if (spec.presence === 'required') {
          throwsHeaderError(() => decodeCustomHeader(schema, without), label, `missing header field ${label}`);
        } else {
          const decoded = decodeCustomHeader(schema, without) as Record<string, unknown>;
          if (spec.presence === 'default') assert.equal(decoded[property], spec.default, `${name}.${property}`);
          else assert.equal(Object.hasOwn(decoded, property), false, `${name}.${property}`);
        }
      }
    }
  });

  it('rejects malformed ints, longs and booleans, naming the field', () => {
    for (const [, schema] of schemas) {
      const ext = sampleExtFields(schema);
      for (const [property, spec] of Object.entries(schema)) {
        const wire = wireKey(property, spec);
        const label = wire === property ? property : `${wire} (${property})`;
        const bad = (value: string, message: RegExp) => throwsHeaderError(() => decodeCustomHeader(schema, { ...ext, [wire]: value }), label, message);
        if (spec.type === 'int' || spec.type === 'long') {
          for (const value of ['abc', '', '1.5', '1e3', ' 1', '0x10', '--1', 'NaN']) {
            bad(value, new RegExp(`^header field ${label.replace(/[()]/g, '\\$&')} is not an integer: `));
          }
        }
        if (spec.type === 'int') {
          bad('2147483648', /out of the int32 range/);
          bad('-2147483649', /out of the int32 range/);
        }
        if (spec.type === 'long') {
          bad('99999999999999999999', /out of the int64 range/);
          if (!spec.saturate) bad('9223372036854775807', /is not a safe integer/);
        }
        if (spec.type === 'boolean') {
          for (const value of ['yes', '1', '', 'truee']) bad(value, /is not a boolean/);
        }
      }
    }
  });

  it('gives the example messages of the brief', () => {
    const ext = { consumerGroup: 'G', topic: 'T', queueId: '0', queueOffset: 'abc', maxMsgNums: '32', sysFlag: '6', commitOffset: '0', suspendTimeoutMillis: '15000', subVersion: '1' };
    throwsHeaderError(() => decodeCustomHeader(PullMessageRequestHeader, ext), 'queueOffset', 'header field queueOffset is not an integer: "abc"');
    const { queueId: _dropped, ...noQueueId } = ext;
    throwsHeaderError(() => decodeCustomHeader(PullMessageRequestHeader, noQueueId), 'queueId', 'missing header field queueId');
  });

  it('maps every request code with a schema', () => {
    for (const code of Object.keys(RequestHeaders).map(Number)) {
      assert.ok(requestCodeName(code), `code ${code} is a request code`);
      assert.ok(requestHeaderSchema(code));
    }
    for (const code of Object.keys(ResponseHeaders).map(Number)) assert.ok(requestCodeName(code));
    assert.equal(requestHeaderSchema(RequestCode.HEART_BEAT) !== undefined, true);
    assert.deepEqual(decodeRequestHeader(RequestCode.HEART_BEAT, { anything: 'x' }), {});
    assert.equal(requestHeaderSchema(9999), undefined);
  });
});

describe('custom headers: specifics', () => {
  it('decodes what ali-ons sends for PULL_MESSAGE (numbers coerced to strings by the frame decoder)', () => {
    const header = decodeRequestHeader(RequestCode.PULL_MESSAGE, {
      consumerGroup: 'GID_TEST', topic: 'TP', queueId: '2', queueOffset: '1024', maxMsgNums: '32', sysFlag: '6',
      commitOffset: '0', suspendTimeoutMillis: '15000', subscription: 'TagA || TagB', subVersion: '1795406728115',
    });
    assert.deepEqual(header, {
      consumerGroup: 'GID_TEST', topic: 'TP', queueId: 2, queueOffset: 1024, maxMsgNums: 32, sysFlag: 6, commitOffset: 0,
      suspendTimeoutMillis: 15000, subscription: 'TagA || TagB', subVersion: 1795406728115,
    });
    // Raw numbers and booleans (not yet coerced) are accepted too.
    assert.equal(decodeCustomHeader(PullMessageRequestHeader, { ...header, queueId: 5 }).queueId, 5);
  });

  it('accepts negative and signed numbers like Java parseInt/parseLong', () => {
    const h = decodeRequestHeader(RequestCode.UPDATE_CONSUMER_OFFSET, { consumerGroup: 'G', topic: 'T', queueId: '+1', commitOffset: '-1' });
    assert.equal(h.queueId, 1);
    assert.equal(h.commitOffset, -1);
    assert.ok(Object.is(decodeRequestHeader(RequestCode.VIEW_MESSAGE_BY_ID, { offset: '-0' }).offset, 0));
  });

  it('saturates Long.MAX_VALUE in QUERY_MESSAGE time bounds (mqadmin queryMsgByKey)', () => {
    const h = decodeCustomHeader(QueryMessageRequestHeader, {
      topic: 'T', key: 'k', maxNum: '64', beginTimestamp: '0', endTimestamp: '9223372036854775807', _UNIQUE_KEY_QUERY: 'true',
    });
    assert.equal(h.endTimestamp, Number.MAX_SAFE_INTEGER);
    assert.equal(h.beginTimestamp, 0);
    assert.equal(h.uniqueKeyQuery, true);
  });

  it('encodes response headers Java-shaped and refuses bad values', () => {
    assert.deepEqual(encodeCustomHeader(PullMessageResponseHeader, { suggestWhichBrokerId: 0, nextBeginOffset: 12, minOffset: 0, maxOffset: 12 }), {
      suggestWhichBrokerId: '0', nextBeginOffset: '12', minOffset: '0', maxOffset: '12',
    });
    assert.deepEqual(
      encodeCustomHeader(SendMessageResponseHeader, { msgId: '7F00000100002A9F0000000000000000', queueId: 0, queueOffset: 0, msgRegion: 'DefaultRegion', traceOn: true }),
      { msgId: '7F00000100002A9F0000000000000000', queueId: '0', queueOffset: '0', MSG_REGION: 'DefaultRegion', TRACE_ON: 'true' },
    );
    const r = decodeResponseHeader(RequestCode.SEND_MESSAGE_V2, { msgId: 'X', queueId: '3', queueOffset: '7' });
    assert.deepEqual(r, { msgId: 'X', queueId: 3, queueOffset: 7 });
    throwsHeaderError(() => encodeCustomHeader(PullMessageResponseHeader, { suggestWhichBrokerId: 0, nextBeginOffset: 1.5, minOffset: 0, maxOffset: 0 }), 'nextBeginOffset', /safe integer/);
    throwsHeaderError(() => encodeCustomHeader(PullMessageResponseHeader, { nextBeginOffset: 1, minOffset: 0, maxOffset: 0 } as never), 'suggestWhichBrokerId', 'missing header field suggestWhichBrokerId');
  });
});

describe('SEND_MESSAGE_V2 ↔ SEND_MESSAGE', () => {
  // As captured from ali-ons (remoting.md §5.1), after the frame decoder's string coercion.
  const v2 = {
    a: 'PID_TEST', b: 'TP_alions_test_topic', c: 'TBW102', d: '4', e: '0', f: '0', g: '1795406710309', h: '0',
    i: 'TAGS\u0001TagA\u0002KEYS\u0001key1\u0002', j: '0', k: 'false',
  };
  const v1 = {
    producerGroup: 'PID_TEST', topic: 'TP_alions_test_topic', defaultTopic: 'TBW102', defaultTopicQueueNums: 4, queueId: 0, sysFlag: 0,
    bornTimestamp: 1795406710309, flag: 0, properties: 'TAGS\u0001TagA\u0002KEYS\u0001key1\u0002', reconsumeTimes: 0, unitMode: false,
    batch: false,
  };

  it('maps the letters a..n onto the SendMessageRequestHeader properties', () => {
    assert.deepEqual(Object.values(SEND_MESSAGE_V2_KEYS), 'abcdefghijklmn'.split(''));
    assert.deepEqual(Object.keys(SEND_MESSAGE_V2_KEYS), Object.keys(SendMessageRequestHeader));
    for (const [property, spec] of Object.entries(SendMessageRequestHeaderV2)) {
      assert.equal(spec.wire, SEND_MESSAGE_V2_KEYS[property as keyof typeof SEND_MESSAGE_V2_KEYS]);
      assert.equal(spec.type, SendMessageRequestHeader[property as keyof typeof SendMessageRequestHeader].type);
    }
  });

  it('decodes V2 letters and V1 long names to the same header', () => {
    assert.deepEqual(decodeSendMessageRequestHeader(RequestCode.SEND_MESSAGE_V2, v2), v1);
    assert.deepEqual(decodeSendMessageRequestHeader(RequestCode.SEND_BATCH_MESSAGE, v2), v1);
    const long = encodeSendMessageRequestHeader(RequestCode.SEND_MESSAGE, v1);
    assert.deepEqual(decodeSendMessageRequestHeader(RequestCode.SEND_MESSAGE, long), v1);
    assert.equal(long.producerGroup, 'PID_TEST');
    assert.equal(long.bornTimestamp, '1795406710309');
  });

  it('converts extFields both ways', () => {
    const long = sendMessageHeaderV2ToV1({ ...v2, l: '17', n: 'broker-a' });
    assert.deepEqual(long, {
      producerGroup: 'PID_TEST', topic: 'TP_alions_test_topic', defaultTopic: 'TBW102', defaultTopicQueueNums: '4', queueId: '0', sysFlag: '0',
      bornTimestamp: '1795406710309', flag: '0', properties: 'TAGS\u0001TagA\u0002KEYS\u0001key1\u0002', reconsumeTimes: '0', unitMode: 'false',
      maxReconsumeTimes: '17', batch: 'false', bname: 'broker-a',
    });
    assert.deepEqual(sendMessageHeaderV1ToV2(long), { ...v2, l: '17', m: 'false', n: 'broker-a' });
    assert.deepEqual(encodeSendMessageRequestHeader(RequestCode.SEND_MESSAGE_V2, v1), { ...v2, m: 'false' });
  });

  it('names V2 fields by letter and property in errors', () => {
    const { e: _e, ...noQueueId } = v2;
    throwsHeaderError(() => decodeSendMessageRequestHeader(RequestCode.SEND_MESSAGE_V2, noQueueId), 'e (queueId)', 'missing header field e (queueId)');
    throwsHeaderError(
      () => decodeSendMessageRequestHeader(RequestCode.SEND_MESSAGE_V2, { ...v2, g: 'soon' }),
      'g (bornTimestamp)',
      'header field g (bornTimestamp) is not an integer: "soon"',
    );
  });
});

describe('JSON bodies', () => {
  const route: TopicRouteDataType = {
    queueDatas: [{ brokerName: 'broker-a', readQueueNums: 4, writeQueueNums: 4, perm: 6, topicSysFlag: 0 }],
    brokerDatas: [{ cluster: 'DefaultCluster', brokerName: 'broker-a', brokerAddrs: { '0': '127.0.0.1:10911' } }],
    filterServerTable: {},
  };
  const SPEC_ROUTE =
    '{"brokerDatas":[{"brokerAddrs":{"0":"127.0.0.1:10911"},"brokerName":"broker-a","cluster":"DefaultCluster"}],' +
    '"filterServerTable":{},"queueDatas":[{"brokerName":"broker-a","perm":6,"readQueueNums":4,"topicSysFlag":0,"writeQueueNums":4}]}';

  it('encodes TopicRouteData exactly like the §7.3 example', () => {
    assert.equal(TopicRouteData.stringify(route), SPEC_ROUTE);
    assert.deepEqual(TopicRouteData.encode(route), Buffer.from(SPEC_ROUTE));
    assert.deepEqual(TopicRouteData.decode(Buffer.from(SPEC_ROUTE)), route);
  });

  it('is deterministic whatever the property order, and leaves out absent and extra properties', () => {
    const shuffled = {
      filterServerTable: {},
      brokerDatas: [{ brokerAddrs: { '0': '127.0.0.1:10911' }, cluster: 'DefaultCluster', brokerName: 'broker-a', extra: 1 }],
      queueDatas: [{ writeQueueNums: 4, topicSysFlag: 0, perm: 6, readQueueNums: 4, brokerName: 'broker-a' }],
      orderTopicConf: undefined,
    };
    assert.equal(TopicRouteData.stringify(shuffled as TopicRouteDataType), SPEC_ROUTE);
    const ordered = TopicRouteData.stringify({ ...route, orderTopicConf: 'broker-a:4' });
    assert.ok(ordered.includes('"filterServerTable":{},"orderTopicConf":"broker-a:4","queueDatas"'), ordered);
    const multi = TopicRouteData.stringify({
      ...route,
      brokerDatas: [{ cluster: 'C', brokerName: 'b', brokerAddrs: { '10': 'x:10', '2': 'x:2', '0': 'x:0', '1': 'x:1' } }],
    });
    assert.ok(multi.includes('{"0":"x:0","1":"x:1","2":"x:2","10":"x:10"}'), multi);
  });

  it("accepts fastjson's bare integer keys", () => {
    const fastjson =
      '{"brokerDatas":[{"brokerAddrs":{0:"127.0.0.1:10911",1:"127.0.0.1:10921"},"brokerName":"broker-a","cluster":"DefaultCluster"}],' +
      '"filterServerTable":{},"queueDatas":[{"brokerName":"broker-a","perm":6,"readQueueNums":4,"topicSysFlag":0,"writeQueueNums":4}]}';
    const decoded = TopicRouteData.decode(Buffer.from(fastjson));
    assert.deepEqual(decoded.brokerDatas[0]?.brokerAddrs, { '0': '127.0.0.1:10911', '1': '127.0.0.1:10921' });
    assert.equal(TopicRouteData.stringify(decoded), SPEC_ROUTE.replace('"0":"127.0.0.1:10911"', '"0":"127.0.0.1:10911","1":"127.0.0.1:10921"'));
  });

  it('quotes bare integer keys only outside strings', () => {
    assert.equal(quoteBareIntegerKeys('{0:"a", 12 : "b",-1:"c"}'), '{"0":"a","12": "b","-1":"c"}');
    assert.equal(quoteBareIntegerKeys('{"k":"{0:\\"x\\",1:2}","n":[1,2,{3:4}]}'), '{"k":"{0:\\"x\\",1:2}","n":[1,2,{"3":4}]}');
    const standard = '{"a":[1,2,3],"b":{"0":"x"},"c":"\\"{1:2}"}';
    assert.equal(quoteBareIntegerKeys(standard), standard);
    assert.equal(quoteBareIntegerKeys(''), '');
    assert.equal(quoteBareIntegerKeys('"unterminated {0:'), '"unterminated {0:');
  });

  it('names the path of a malformed body and rejects empty or non-JSON bodies', () => {
    assert.throws(() => TopicRouteData.decode(Buffer.from('{"queueDatas":[{"brokerName":"b","readQueueNums":4,"writeQueueNums":4,"perm":"6"}]}')), {
      name: 'ProtocolError',
      message: 'TopicRouteData.queueDatas[0].perm is not an integer (got a string)',
    });
    assert.throws(() => TopicRouteData.decode(Buffer.from('{"brokerDatas":[{"brokerName":"b","brokerAddrs":{}}]}')), /TopicRouteData\.brokerDatas\[0\]\.cluster is missing/);
    assert.throws(() => TopicRouteData.decode(null), /empty body/);
    assert.throws(() => TopicRouteData.decode(Buffer.from('{nope')), ProtocolError);
    assert.throws(() => ConsumerListBody.decode(Buffer.from('[]')), /ConsumerListBody is not an object/);
  });

  it('decodes the HeartbeatData ali-ons sends (remoting.md §3) and re-encodes it', () => {
    const captured =
      '{"clientID":"192.0.2.2@9789","consumerDataSet":[{"groupName":"GID_TEST","consumeType":"CONSUME_PASSIVELY","messageModel":"CLUSTERING",' +
      '"consumeFromWhere":"CONSUME_FROM_LAST_OFFSET","unitMode":false,"subscriptionDataSet":[' +
      '{"topic":"TP_alions_test_topic","subString":"TagA || TagB","classFilterMode":false,"tagsSet":["TagA","TagB"],"codeSet":[2598919,2598920],"subVersion":1795406728115},' +
      '{"topic":"%RETRY%GID_TEST","subString":"*","classFilterMode":false,"tagsSet":[],"codeSet":[],"subVersion":1795406728159}]}],' +
      '"producerDataSet":[{"groupName":"PID_TEST"}]}';
    const heartbeat = HeartbeatData.decode(Buffer.from(captured));
    assert.equal(heartbeat.clientID, '192.0.2.2@9789');
    assert.equal(heartbeat.producerDataSet[0]?.groupName, 'PID_TEST');
    const consumer = heartbeat.consumerDataSet[0];
    assert.equal(consumer?.messageModel, 'CLUSTERING');
    assert.deepEqual(consumer?.subscriptionDataSet[0]?.codeSet, [2598919, 2598920]);
    assert.equal(consumer?.subscriptionDataSet[1]?.expressionType, undefined);
    assert.deepEqual(HeartbeatData.decode(HeartbeatData.encode(heartbeat)), heartbeat);
    // Producer-only heartbeat; missing sets default to empty (fresh arrays, not shared).
    const minimal = HeartbeatData.decode(Buffer.from('{"clientID":"c","consumerDataSet":[{"groupName":"G","consumeType":"CONSUME_ACTIVELY","messageModel":"BROADCASTING","consumeFromWhere":"CONSUME_FROM_FIRST_OFFSET","subscriptionDataSet":[{"topic":"T","subString":"a > 5","expressionType":"SQL92"}]}]}'));
    assert.deepEqual(minimal.producerDataSet, []);
    const sub = minimal.consumerDataSet[0]?.subscriptionDataSet[0];
    const tags: string[] = sub?.tagsSet ?? [];
    assert.deepEqual(sub, { topic: 'T', subString: 'a > 5', classFilterMode: false, tagsSet: [], codeSet: [], subVersion: 0, expressionType: 'SQL92' });
    tags.push('mutated');
    const again = HeartbeatData.decode(Buffer.from('{"clientID":"c","consumerDataSet":[{"groupName":"G","consumeType":"x","messageModel":"x","consumeFromWhere":"x","subscriptionDataSet":[{"topic":"T","subString":"*"}]}]}'));
    assert.deepEqual(again.consumerDataSet[0]?.subscriptionDataSet[0]?.tagsSet, []);
  });

  it('round-trips RegisterBrokerBody in fastjson order', () => {
    const body = {
      topicConfigSerializeWrapper: {
        topicConfigTable: {
          TopicB: { topicName: 'TopicB', readQueueNums: 8, writeQueueNums: 8, perm: 6, topicFilterType: 'SINGLE_TAG', topicSysFlag: 0, order: false },
          '%RETRY%G': { topicName: '%RETRY%G', readQueueNums: 1, writeQueueNums: 1, perm: 6, topicFilterType: 'SINGLE_TAG', topicSysFlag: 0, order: false },
        },
        dataVersion: { timestamp: 1700000000000, counter: 3 },
      },
      filterServerList: [],
    };
    const text = RegisterBrokerBody.stringify(body);
    assert.equal(
      text,
      '{"filterServerList":[],"topicConfigSerializeWrapper":{"dataVersion":{"counter":3,"timestamp":1700000000000},"topicConfigTable":{' +
        '"%RETRY%G":{"order":false,"perm":6,"readQueueNums":1,"topicFilterType":"SINGLE_TAG","topicName":"%RETRY%G","topicSysFlag":0,"writeQueueNums":1},' +
        '"TopicB":{"order":false,"perm":6,"readQueueNums":8,"topicFilterType":"SINGLE_TAG","topicName":"TopicB","topicSysFlag":0,"writeQueueNums":8}}}}',
    );
    assert.deepEqual(RegisterBrokerBody.decode(Buffer.from(text)), body);
  });

  it('round-trips the other bodies', () => {
    const mq = { topic: 'T', brokerName: 'broker-a', queueId: 1 };
    const cases: [{ encode(v: never): Buffer; decode(b: Buffer): unknown }, unknown, string][] = [
      [ConsumerListBody, { consumerIdList: ['c1', 'c2'] }, '{"consumerIdList":["c1","c2"]}'],
      [LockBatchRequestBody, { consumerGroup: 'G', clientId: 'c', mqSet: [mq] }, '{"clientId":"c","consumerGroup":"G","mqSet":[{"brokerName":"broker-a","queueId":1,"topic":"T"}]}'],
      [UnlockBatchRequestBody, { consumerGroup: 'G', clientId: 'c', mqSet: [] }, '{"clientId":"c","consumerGroup":"G","mqSet":[]}'],
      [LockBatchResponseBody, { lockOKMQSet: [mq] }, '{"lockOKMQSet":[{"brokerName":"broker-a","queueId":1,"topic":"T"}]}'],
      [
        ClusterInfo,
        { brokerAddrTable: { 'broker-a': { cluster: 'C', brokerName: 'broker-a', brokerAddrs: { '0': 'h:1' } } }, clusterAddrTable: { C: ['broker-a'] } },
        '{"brokerAddrTable":{"broker-a":{"brokerAddrs":{"0":"h:1"},"brokerName":"broker-a","cluster":"C"}},"clusterAddrTable":{"C":["broker-a"]}}',
      ],
      [TopicList, { topicList: ['A', 'B'] }, '{"topicList":["A","B"]}'],
      [KVTable, { table: { k: 'v' } }, '{"table":{"k":"v"}}'],
    ];
    for (const [codec, value, text] of cases) {
      assert.equal(codec.encode(value as never).toString(), text);
      assert.deepEqual(codec.decode(Buffer.from(text)), value);
    }
  });
});
