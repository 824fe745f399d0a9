import { TOPIC_MAX_BYTES } from './message-record.js';

const TOPIC_PATTERN = /^[%|a-zA-Z0-9_-]+$/;

/**
 * RocketMQ's topic rules (TopicValidator): non-empty, only `%|a-zA-Z0-9_-`, at most 127 characters.
 * Returns why `topic` is invalid, or null when it is valid.
 */
export function topicProblem(topic: string): string | null {
  if (topic.length === 0) return 'the topic is empty';
  if (topic.length > TOPIC_MAX_BYTES) return `the topic is ${topic.length} characters long, more than ${TOPIC_MAX_BYTES}`;
  if (!TOPIC_PATTERN.test(topic)) return `the topic ${JSON.stringify(topic)} contains characters other than %|a-zA-Z0-9_-`;
  return null;
}
