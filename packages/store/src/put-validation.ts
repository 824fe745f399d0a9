import { PROPERTIES_MAX_BYTES, RECORD_CRC_DIGITS, topicProblem } from '@tern/protocol';
import type { PutStatus } from './results.js';

/** Room the store's CRC property takes in the properties string: separator + `__CRC32#` + separator + digits. */
const CRC_PROPERTY_BYTES = 1 + 8 + 1 + RECORD_CRC_DIGITS;

const validTopics = new Set<string>();
const VALID_TOPICS_MAX = 10_000;

/** Checks of a put, made before anything is reserved: bad input gets a status, never a partial write. */
export interface PutProblem {
  status: Exclude<PutStatus, 'PUT_OK'>;
  remark: string;
}

/** The topic and queue id of a put. */
export function putTargetProblem(topic: string, queueId: number): PutProblem | null {
  if (!validTopics.has(topic)) {
    const problem = topicProblem(topic);
    if (problem) return { status: 'MESSAGE_ILLEGAL', remark: problem };
    // A broker sees few distinct topics; the regex runs once per topic, not per message.
    if (validTopics.size >= VALID_TOPICS_MAX) validTopics.clear();
    validTopics.add(topic);
  }
  if (!Number.isInteger(queueId) || queueId < 0 || queueId > 0xffff) {
    return { status: 'MESSAGE_ILLEGAL', remark: `queueId ${queueId} is not in [0, 65535]` };
  }
  return null;
}

export function bodySizeProblem(bodyBytes: number, maxMessageSizeBytes: number): PutProblem | null {
  if (bodyBytes > maxMessageSizeBytes) {
    return { status: 'MESSAGE_ILLEGAL', remark: `message body size ${bodyBytes} exceeds maxMessageSize ${maxMessageSizeBytes}` };
  }
  return null;
}

/** `propertiesBytes`: the UTF-8 size of the properties as given, before the store adds its CRC property. */
export function propertiesSizeProblem(propertiesBytes: number): PutProblem | null {
  if (propertiesBytes + CRC_PROPERTY_BYTES > PROPERTIES_MAX_BYTES) {
    return {
      status: 'PROPERTIES_SIZE_EXCEEDED',
      remark: `properties size ${propertiesBytes} exceeds ${PROPERTIES_MAX_BYTES - CRC_PROPERTY_BYTES} bytes`,
    };
  }
  return null;
}
