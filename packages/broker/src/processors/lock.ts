import {
  LockBatchRequestBody, LockBatchResponseBody, type RemotingCommand, ResponseCode, UnlockBatchRequestBody, responseCommand,
} from '@tern/protocol';
import type { BrokerContext } from '../broker-context.js';

/** LOCK_BATCH_MQ (41): lease the requested queues to the client; the reply lists what it now holds. */
export function lockBatchProcessor(context: BrokerContext) {
  return (request: RemotingCommand): RemotingCommand => {
    if (!request.body) return responseCommand(request, ResponseCode.SYSTEM_ERROR, 'LOCK_BATCH_MQ without a body');
    const body = LockBatchRequestBody.decode(request.body);
    const locked = context.locks.tryLockBatch(body.consumerGroup, body.mqSet, body.clientId);
    return responseCommand(request, ResponseCode.SUCCESS, null, {}, LockBatchResponseBody.encode({ lockOKMQSet: locked }));
  };
}

/** UNLOCK_BATCH_MQ (42). */
export function unlockBatchProcessor(context: BrokerContext) {
  return (request: RemotingCommand): RemotingCommand => {
    if (!request.body) return responseCommand(request, ResponseCode.SYSTEM_ERROR, 'UNLOCK_BATCH_MQ without a body');
    const body = UnlockBatchRequestBody.decode(request.body);
    context.locks.unlockBatch(body.consumerGroup, body.mqSet, body.clientId);
    return responseCommand(request, ResponseCode.SUCCESS, null);
  };
}
