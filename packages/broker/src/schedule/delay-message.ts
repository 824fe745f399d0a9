import { MessageProperty, decodeProperties, encodeProperties } from '@tern/protocol';
import { SCHEDULE_TOPIC } from '@tern/store';

/** The fields of a message that delay handling rewrites. */
export interface RoutableMessage {
  topic: string;
  queueId: number;
  properties: string;
}

/**
 * A message with a delay level goes to SCHEDULE_TOPIC_XXXX queue (level − 1) with its real destination kept in
 * REAL_TOPIC / REAL_QID (RocketMQ's CommitLog does this before storing). Levels past the last are clamped to it.
 */
export function toScheduled<T extends RoutableMessage>(message: T, level: number, levelCount: number): T {
  const clamped = Math.min(level, levelCount);
  const properties = decodeProperties(message.properties);
  properties.set(MessageProperty.REAL_TOPIC, message.topic);
  properties.set(MessageProperty.REAL_QUEUE_ID, String(message.queueId));
  properties.set(MessageProperty.DELAY_TIME_LEVEL, String(clamped));
  return { ...message, topic: SCHEDULE_TOPIC, queueId: clamped - 1, properties: encodeProperties(properties) };
}

/**
 * The message to deliver when its delay is up: back to REAL_TOPIC / REAL_QID without DELAY (REAL_* stay, as in
 * RocketMQ). Null when the record has no real destination (it was not put there by the broker).
 */
export function fromScheduled(properties: string): { topic: string; queueId: number; properties: string } | null {
  const map = decodeProperties(properties);
  const topic = map.get(MessageProperty.REAL_TOPIC);
  const queueId = Number(map.get(MessageProperty.REAL_QUEUE_ID));
  if (!topic || !Number.isInteger(queueId) || queueId < 0) return null;
  map.delete(MessageProperty.DELAY_TIME_LEVEL);
  return { topic, queueId, properties: encodeProperties(map) };
}
