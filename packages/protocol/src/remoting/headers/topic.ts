import { type HeaderOf, defineHeader, field } from './header-schema.js';

/** UPDATE_AND_CREATE_TOPIC (17), admin → broker. topicFilterType: SINGLE_TAG or MULTI_TAG. */
export const CreateTopicRequestHeader = defineHeader({
  topic: field.required('string'),
  defaultTopic: field.required('string'),
  readQueueNums: field.required('int'),
  writeQueueNums: field.required('int'),
  /** 4 READ | 2 WRITE | 1 INHERIT | 8 PRIORITY. */
  perm: field.required('int'),
  topicFilterType: field.required('string'),
  topicSysFlag: field.optional('int'),
  order: field.required('boolean'),
});
export type CreateTopicRequestHeader = HeaderOf<typeof CreateTopicRequestHeader>;

/** DELETE_TOPIC_IN_BROKER (215). */
export const DeleteTopicRequestHeader = defineHeader({
  topic: field.required('string'),
});
export type DeleteTopicRequestHeader = HeaderOf<typeof DeleteTopicRequestHeader>;
