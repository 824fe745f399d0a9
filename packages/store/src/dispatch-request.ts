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
  uniqKey: string | undefined;
  storeTimestampMs: number;
  sysFlag: number;
  /** DELAY property (0 when absent): SCHEDULE_TOPIC_XXXX units carry the delivery time as their tag code. */
  delayLevel: number;
}
