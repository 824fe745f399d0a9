import type { HostAddress } from '@tern/protocol';

/**
 * One SEND_BATCH_MESSAGE as the store takes it (RocketMQ's MessageExtBatch): the members stay encoded in the
 * request body and the store copies their bodies and properties straight into CommitLog records, so a batch costs
 * no string and no object per member.
 */
export interface PutBatchInput {
  topic: string;
  queueId: number;
  sysFlag: number;
  bornTimestampMs: number;
  bornHost: HostAddress;
  reconsumeTimes: number;
  /** The bytes the members lie in (the request body). */
  source: Buffer;
  /** BATCH_MEMBER_FIELDS int32s per member, indexed by BatchMemberField: where its body and properties lie. */
  members: Int32Array;
  /**
   * The batch's own properties, stored after each member's (RocketMQ appends them, with a separator unless the
   * member's end with one); '' for none.
   */
  batchProperties: string;
}

export const BATCH_MEMBER_FIELDS = 5;

export const BatchMemberField = {
  FLAG: 0,
  BODY_START: 1,
  BODY_LENGTH: 2,
  /** The member's properties: UTF-8 bytes, as the producer encoded them. */
  PROPERTIES_START: 3,
  PROPERTIES_LENGTH: 4,
} as const;
