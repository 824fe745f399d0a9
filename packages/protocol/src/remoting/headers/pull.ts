import { type HeaderOf, defineHeader, field } from './header-schema.js';

/** PULL_MESSAGE (11) request (remoting.md §3, §7.5). */
export const PullMessageRequestHeader = defineHeader({
  consumerGroup: field.required('string'),
  topic: field.required('string'),
  queueId: field.required('int'),
  queueOffset: field.required('long'),
  maxMsgNums: field.required('int'),
  /** PullSysFlag: 1 commit offset, 2 suspend, 4 subscription, 8 class filter. */
  sysFlag: field.required('int'),
  commitOffset: field.required('long'),
  suspendTimeoutMillis: field.required('long'),
  /** The raw expression: `TagA || TagB`, `*`, or SQL92. */
  subscription: field.optional('string'),
  subVersion: field.required('long'),
  /** TAG when absent; `SQL92` for SQL filters. */
  expressionType: field.optional('string'),
});
export type PullMessageRequestHeader = HeaderOf<typeof PullMessageRequestHeader>;

/** PULL_MESSAGE response: all four fields on every 0/19/20/21 answer (remoting.md §0 item 4). */
export const PullMessageResponseHeader = defineHeader({
  suggestWhichBrokerId: field.required('long'),
  nextBeginOffset: field.required('long'),
  minOffset: field.required('long'),
  maxOffset: field.required('long'),
});
export type PullMessageResponseHeader = HeaderOf<typeof PullMessageResponseHeader>;
