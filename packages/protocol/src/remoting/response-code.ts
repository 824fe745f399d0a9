/**
 * RocketMQ 4.9.x response codes (ResponseCode.java + RemotingSysResponseCode.java, remoting.md §7.2): THE table used
 * by broker, name server, client, CLI and docs. Add a code here and everything else sees it.
 *
 * `retriable`: a RocketMQ producer resends the message (to another broker) when a send fails with this code. Java
 * 4.9 `DefaultMQProducer.retryResponseCodes` and ali-ons (§2.2) retry on 1, 14, 16, 17, 204, 205; RocketMQ 5.x adds
 * 2 SYSTEM_BUSY, and so does Tern: a busy broker refused the request before storing anything, so resending elsewhere
 * cannot duplicate the message and is the useful reaction to a transient overload. 10/11/12 are not retriable: the
 * message was stored, the code only qualifies the send result. FLOW_CONTROL 215 is not retried by any RocketMQ
 * producer. Pull status codes (19–21) describe a pull outcome, not a failure.
 */
export interface ResponseCodeInfo {
  readonly code: number;
  readonly name: string;
  readonly retriable: boolean;
  /** A short description, usable as a default remark and in docs. */
  readonly message: string;
}

const RESPONSE_CODES = [
  { code: 0, name: 'SUCCESS', retriable: false, message: 'success' },
  { code: 1, name: 'SYSTEM_ERROR', retriable: true, message: 'system error' },
  { code: 2, name: 'SYSTEM_BUSY', retriable: true, message: 'system busy, try again later' },
  { code: 3, name: 'REQUEST_CODE_NOT_SUPPORTED', retriable: false, message: 'request code not supported' },
  { code: 4, name: 'TRANSACTION_FAILED', retriable: false, message: 'transaction failed' },
  { code: 10, name: 'FLUSH_DISK_TIMEOUT', retriable: false, message: 'stored, but flushing to disk timed out' },
  { code: 11, name: 'SLAVE_NOT_AVAILABLE', retriable: false, message: 'stored, but no slave is available' },
  { code: 12, name: 'FLUSH_SLAVE_TIMEOUT', retriable: false, message: 'stored, but replicating to the slave timed out' },
  { code: 13, name: 'MESSAGE_ILLEGAL', retriable: false, message: 'message illegal' },
  { code: 14, name: 'SERVICE_NOT_AVAILABLE', retriable: true, message: 'service not available' },
  { code: 15, name: 'VERSION_NOT_SUPPORTED', retriable: false, message: 'version not supported' },
  { code: 16, name: 'NO_PERMISSION', retriable: true, message: 'no permission' },
  { code: 17, name: 'TOPIC_NOT_EXIST', retriable: true, message: 'topic does not exist' },
  { code: 18, name: 'TOPIC_EXIST_ALREADY', retriable: false, message: 'topic exists already' },
  { code: 19, name: 'PULL_NOT_FOUND', retriable: false, message: 'no new message' },
  { code: 20, name: 'PULL_RETRY_IMMEDIATELY', retriable: false, message: 'no matched message, pull again' },
  { code: 21, name: 'PULL_OFFSET_MOVED', retriable: false, message: 'pull offset illegal, moved' },
  { code: 22, name: 'QUERY_NOT_FOUND', retriable: false, message: 'not found' },
  { code: 23, name: 'SUBSCRIPTION_PARSE_FAILED', retriable: false, message: 'subscription parse failed' },
  { code: 24, name: 'SUBSCRIPTION_NOT_EXIST', retriable: false, message: 'subscription does not exist' },
  { code: 25, name: 'SUBSCRIPTION_NOT_LATEST', retriable: false, message: 'subscription not latest' },
  { code: 26, name: 'SUBSCRIPTION_GROUP_NOT_EXIST', retriable: false, message: 'subscription group does not exist' },
  { code: 27, name: 'FILTER_DATA_NOT_EXIST', retriable: false, message: 'filter data does not exist' },
  { code: 28, name: 'FILTER_DATA_NOT_LATEST', retriable: false, message: 'filter data not latest' },
  { code: 200, name: 'TRANSACTION_SHOULD_COMMIT', retriable: false, message: 'transaction should commit' },
  { code: 201, name: 'TRANSACTION_SHOULD_ROLLBACK', retriable: false, message: 'transaction should roll back' },
  { code: 202, name: 'TRANSACTION_STATE_UNKNOW', retriable: false, message: 'transaction state unknown' },
  { code: 203, name: 'TRANSACTION_STATE_GROUP_WRONG', retriable: false, message: 'transaction state group wrong' },
  { code: 204, name: 'NO_BUYER_ID', retriable: true, message: 'no buyer id' },
  { code: 205, name: 'NOT_IN_CURRENT_UNIT', retriable: true, message: 'not in current unit' },
  { code: 206, name: 'CONSUMER_NOT_ONLINE', retriable: false, message: 'consumer not online' },
  { code: 207, name: 'CONSUME_MSG_TIMEOUT', retriable: false, message: 'consume message timeout' },
  { code: 208, name: 'NO_MESSAGE', retriable: false, message: 'no message' },
  { code: 209, name: 'UPDATE_AND_CREATE_ACL_CONFIG_FAILED', retriable: false, message: 'updating or creating the ACL config failed' },
  { code: 210, name: 'DELETE_ACL_CONFIG_FAILED', retriable: false, message: 'deleting the ACL config failed' },
  { code: 211, name: 'UPDATE_GLOBAL_WHITE_ADDRS_CONFIG_FAILED', retriable: false, message: 'updating the global white addresses failed' },
  { code: 215, name: 'FLOW_CONTROL', retriable: false, message: 'flow control' },
] as const satisfies readonly ResponseCodeInfo[];

type ResponseCodeEntry = (typeof RESPONSE_CODES)[number];
export type ResponseCodeName = ResponseCodeEntry['name'];

/** name → code, e.g. `ResponseCode.TOPIC_NOT_EXIST` = 17. */
export const ResponseCode = Object.freeze(Object.fromEntries(RESPONSE_CODES.map((e) => [e.name, e.code]))) as {
  readonly [E in ResponseCodeEntry as E['name']]: E['code'];
};
export type ResponseCode = ResponseCodeEntry['code'];

/** Every entry, in code order. */
export const RESPONSE_CODE_TABLE: readonly ResponseCodeInfo[] = RESPONSE_CODES;

const infoByCode = new Map<number, ResponseCodeInfo>(RESPONSE_CODES.map((e) => [e.code, e]));

/** The table entry for `code`, or undefined for a code RocketMQ 4.9 does not define. */
export function responseCodeInfo(code: number): ResponseCodeInfo | undefined {
  return infoByCode.get(code);
}

/** True when a producer should resend a message whose send failed with `code`. */
export function isRetriableResponseCode(code: number): boolean {
  return infoByCode.get(code)?.retriable ?? false;
}
