import { type HeaderOf, defineHeader, headerField } from './header-schema.js';

/** UPDATE_AND_CREATE_TOPIC (17), admin → broker. topicFilterType: SINGLE_TAG or MULTI_TAG. */
export const CreateTopicRequestHeader = defineHeader({
  topic: headerField.required('string'),
  defaultTopic: headerField.required('string'),
  readQueueNums: headerField.required('int'),
  writeQueueNums: headerField.required('int'),
  /** 4 READ | 2 WRITE | 1 INHERIT | 8 PRIORITY. */
  perm: headerField.required('int'),
  topicFilterType: headerField.required('string'),
  topicSysFlag: headerField.optional('int'),
  order: headerField.required('boolean'),
});
export type CreateTopicRequestHeader = HeaderOf<typeof CreateTopicRequestHeader>;

/** DELETE_TOPIC_IN_BROKER (215). */
export const DeleteTopicRequestHeader = defineHeader({
  topic: headerField.required('string'),
});
export type DeleteTopicRequestHeader = HeaderOf<typeof DeleteTopicRequestHeader>;
