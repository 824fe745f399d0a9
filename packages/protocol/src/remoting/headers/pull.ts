import { type HeaderOf, defineHeader, headerField } from './header-schema.js';

/** PULL_MESSAGE (11) request (remoting.md §3, §7.5). */
export const PullMessageRequestHeader = defineHeader({
  consumerGroup: headerField.required('string'),
  topic: headerField.required('string'),
  queueId: headerField.required('int'),
  queueOffset: headerField.required('long'),
  maxMsgNums: headerField.required('int'),
  /** PullSysFlag: 1 commit offset, 2 suspend, 4 subscription, 8 class filter. */
  sysFlag: headerField.required('int'),
  commitOffset: headerField.required('long'),
  suspendTimeoutMillis: headerField.required('long'),
  /** The raw expression: `TagA || TagB`, `*`, or SQL92. */
  subscription: headerField.optional('string'),
  subVersion: headerField.required('long'),
  /** TAG when absent; `SQL92` for SQL filters. */
  expressionType: headerField.optional('string'),
});
export type PullMessageRequestHeader = HeaderOf<typeof PullMessageRequestHeader>;

/** PULL_MESSAGE response: all four fields on every 0/19/20/21 answer (remoting.md §0 item 4). */
export const PullMessageResponseHeader = defineHeader({
  suggestWhichBrokerId: headerField.required('long'),
  nextBeginOffset: headerField.required('long'),
  minOffset: headerField.required('long'),
  maxOffset: headerField.required('long'),
});
export type PullMessageResponseHeader = HeaderOf<typeof PullMessageResponseHeader>;
