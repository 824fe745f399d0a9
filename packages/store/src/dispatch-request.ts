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
}
