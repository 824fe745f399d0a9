import { javaStringHashCode, type MessageQueue } from '@tern/protocol';
import type { Message } from './message.js';

/**
 * Picks the queue of an orderly send (RocketMQ's MessageQueueSelector): given the topic's write queues (all
 * brokers, sorted by brokerName then queueId), the message and the caller's `arg`. A send with a selector never
 * switches queue on failure: order matters more than delivery.
 */
export type MessageQueueSelector<A = unknown> = (queues: readonly MessageQueue[], message: Message, arg: A) => MessageQueue;

/** Java's hashCode of a selector argument: String.hashCode for strings, the int itself for int32 numbers. */
export function javaHashCodeOf(arg: unknown): number {
  if (typeof arg === 'string') return javaStringHashCode(arg);
  if (typeof arg === 'number' && Number.isInteger(arg) && arg >= -0x80000000 && arg <= 0x7fffffff) return arg;
  if (typeof arg === 'boolean') return arg ? 1231 : 1237;
  return javaStringHashCode(String(arg));
}

/**
 * RocketMQ's SelectMessageQueueByHash: `queues[abs(arg.hashCode() % queues.length)]`. With a string argument
 * (a sharding key) the choice is the same as a Java producer's for the same route: every message with that key
 * lands in one queue while the route stays the same.
 */
export const selectMessageQueueByHash: MessageQueueSelector = (queues, _message, arg) => {
  if (queues.length === 0) throw new RangeError('selectMessageQueueByHash: no queue to choose from');
  const value = Math.abs(javaHashCodeOf(arg) % queues.length);
  return queues[value]!;
};

/** The queue a sharding key maps to (selectMessageQueueByHash with the key as argument). */
export function selectByShardingKey(queues: readonly MessageQueue[], shardingKey: string): MessageQueue {
  if (queues.length === 0) throw new RangeError('selectByShardingKey: no queue to choose from');
  return queues[Math.abs(javaStringHashCode(shardingKey) % queues.length)]!;
}

/** RocketMQ's SelectMessageQueueByRandom. */
export const selectMessageQueueByRandom: MessageQueueSelector = (queues) => {
  if (queues.length === 0) throw new RangeError('selectMessageQueueByRandom: no queue to choose from');
  return queues[Math.floor(Math.random() * queues.length)]!;
};
