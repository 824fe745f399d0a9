/** Outcomes of a put, as RocketMQ's PutMessageStatus names them. Only PUT_OK means stored with the promised durability. */
export type PutStatus =
  | 'PUT_OK'
  | 'FLUSH_DISK_TIMEOUT'
  | 'SERVICE_NOT_AVAILABLE'
  | 'MESSAGE_ILLEGAL'
  | 'PROPERTIES_SIZE_EXCEEDED'
  | 'UNKNOWN_ERROR';

/**
 * What a put reached: 'fsynced' (an fdatasync covered it), 'written' (in the OS page cache: survives a process
 * crash, not a power loss), or 'none'.
 */
export type Durability = 'fsynced' | 'written' | 'none';

export interface PutResult {
  status: PutStatus;
  durability: Durability;
  /** Why, when status is not PUT_OK; a RocketMQ remark. */
  remark?: string;
  /** Of the first message of a batch. */
  physicalOffset: number;
  /** Of the first message of a batch. */
  queueOffset: number;
  /** Offset message ids, one per message, joined with commas (as SEND_MESSAGE's response carries them). */
  messageIdList: string;
  storeTimestampMs: number;
  wroteBytes: number;
  messageCount: number;
}

/** Outcomes of reading a queue, as RocketMQ's GetMessageStatus names them. */
export type GetStatus =
  | 'FOUND'
  | 'NO_MATCHED_MESSAGE'
  | 'MESSAGE_WAS_REMOVING'
  | 'OFFSET_FOUND_NULL'
  | 'OFFSET_OVERFLOW_BADLY'
  | 'OFFSET_OVERFLOW_ONE'
  | 'OFFSET_TOO_SMALL'
  | 'NO_MATCHED_LOGIC_QUEUE'
  | 'NO_MESSAGE_IN_QUEUE';

export interface GetResult {
  status: GetStatus;
  /** The queue offset to ask for next. */
  nextBeginOffset: number;
  minOffset: number;
  maxOffset: number;
  /** The stored records, byte for byte, in queue order. */
  messages: Buffer[];
  /** Queue offset of each returned message. */
  queueOffsets: number[];
  totalSizeBytes: number;
}

function emptyPutResult(status: PutStatus, remark: string): PutResult {
  return {
    status, durability: 'none', remark, physicalOffset: -1, queueOffset: -1, messageIdList: '', storeTimestampMs: 0,
    wroteBytes: 0, messageCount: 0,
  };
}

export function rejectedPut(status: Exclude<PutStatus, 'PUT_OK'>, remark: string): PutResult {
  return emptyPutResult(status, remark);
}
