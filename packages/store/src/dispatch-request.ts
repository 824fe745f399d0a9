/** What the dispatcher needs of one stored record to fill the ConsumeQueue and the index. */
export interface DispatchRequest {
  topic: string;
  queueId: number;
  queueOffset: number;
  physicalOffset: number;
  sizeBytes: number;
  tagsCode: number;
  /** KEYS (space-separated) or undefined. */
  keys: string | undefined;
  /** indexKeyHash(topic, UNIQ_KEY), or -1 without one: hashed where the key is found (from its bytes, for batches). */
  uniqKeyHash: number;
  storeTimestampMs: number;
  sysFlag: number;
  /** DELAY property (0 when absent): SCHEDULE_TOPIC_XXXX units carry the delivery time as their tag code. */
  delayLevel: number;
}
