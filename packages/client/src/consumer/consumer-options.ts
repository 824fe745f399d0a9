import { InvalidArgumentError, type Logger } from '@tern/common';
import { type ClientConfig, type ClientOptions, clientConfig, resolveNamesrvAddr } from '../client-config.js';
import type { MessageModel } from './rebalance-impl.js';
import type { ConsumeFromWhere } from './rebalance-push.js';

/* The options the push consumer and the lite pull consumer check the same way. */

/** MixAll.DEFAULT_CONSUMER_GROUP, which applications may not use. */
export const DEFAULT_CONSUMER_GROUP = 'DEFAULT_CONSUMER';
export const CONSUMER_GROUP_MAX_LENGTH = 255;
const GROUP_PATTERN = /^[%|a-zA-Z0-9_-]+$/;

/** Java's Validators.checkGroup plus the DEFAULT_CONSUMER rule; throws InvalidArgumentError. */
export function checkConsumerGroup(group: unknown): string {
  if (typeof group !== 'string' || group.trim().length === 0) throw InvalidArgumentError.format('consumerGroup', 'the specified group is blank');
  if (group.length > CONSUMER_GROUP_MAX_LENGTH) {
    throw InvalidArgumentError.format('consumerGroup', `the specified group is longer than group max length ${CONSUMER_GROUP_MAX_LENGTH}`);
  }
  if (!GROUP_PATTERN.test(group)) {
    throw InvalidArgumentError.format('consumerGroup', `the specified group[${group}] contains illegal characters, allowing only ^[%|a-zA-Z0-9_-]+$`);
  }
  if (group === DEFAULT_CONSUMER_GROUP) throw InvalidArgumentError.format('consumerGroup', `consumerGroup can not equal ${DEFAULT_CONSUMER_GROUP}`);
  return group;
}

/** messageModel (default CLUSTERING) and consumeFromWhere (default CONSUME_FROM_LAST_OFFSET); throws InvalidArgumentError. */
export function resolveConsumeModel(options: { messageModel?: MessageModel; consumeFromWhere?: ConsumeFromWhere }): {
  messageModel: MessageModel; consumeFromWhere: ConsumeFromWhere;
} {
  const messageModel = options.messageModel ?? 'CLUSTERING';
  if (messageModel !== 'CLUSTERING' && messageModel !== 'BROADCASTING') {
    throw InvalidArgumentError.format('messageModel', `must be CLUSTERING or BROADCASTING, got ${String(messageModel)}`);
  }
  const consumeFromWhere = options.consumeFromWhere ?? 'CONSUME_FROM_LAST_OFFSET';
  if (!['CONSUME_FROM_LAST_OFFSET', 'CONSUME_FROM_FIRST_OFFSET', 'CONSUME_FROM_TIMESTAMP'].includes(consumeFromWhere)) {
    throw InvalidArgumentError.format('consumeFromWhere', `unknown value ${String(consumeFromWhere)}`);
  }
  return { messageModel, consumeFromWhere };
}

/**
 * What a consumer's constructor derives from its options: the resolved (frozen) options and the client settings.
 * Throws InvalidArgumentError for a bad option or when no name server is given (option or NAMESRV_ADDR).
 */
export function consumerSettings<O extends ClientOptions, R extends { consumerGroup: string }>(options: O, resolve: (options: O) => R): {
  options: Readonly<R>; consumerGroup: string; clientConfig: ClientConfig; logger: Logger;
} {
  if (typeof options !== 'object' || options === null) throw InvalidArgumentError.format('options', 'must be an object');
  const resolved = Object.freeze(resolve(options));
  const config = clientConfig(options, resolveNamesrvAddr(options.namesrvAddr));
  return { options: resolved, consumerGroup: resolved.consumerGroup, clientConfig: config, logger: config.logger };
}
