import { ProtocolError } from '@tern/common';
import { BATCH_MEMBER_FIELDS, BatchMemberField } from '@tern/store';

/**
 * One message of a SEND_BATCH_MESSAGE body (MessageDecoder.encodeMessages), big-endian:
 * int32 totalSize | int32 magic | int32 bodyCRC | int32 flag | int32 bodyLen | body | int16 propsLen | props
 */
export interface BatchMessage {
  flag: number;
  body: Buffer;
  properties: string;
}

const BATCH_MESSAGES_MAX = 10_000;

/**
 * Checks a batch body and returns where each member's fields lie, as the store's PutBatchInput.members wants them
 * (BATCH_MEMBER_FIELDS int32s per member): no object, body view or string per member.
 */
export function decodeBatchMembers(body: Buffer): Int32Array {
  let members = new Int32Array(128 * BATCH_MEMBER_FIELDS);
  let count = 0;
  let at = 0;
  const end = body.length;
  // Index arithmetic instead of readInt32BE: this runs for every member of every batch.
  const int32At = (i: number): number => (body[i]! << 24) | (body[i + 1]! << 16) | (body[i + 2]! << 8) | body[i + 3]!;
  while (at < end) {
    if (count >= BATCH_MESSAGES_MAX) throw new ProtocolError(`batch of more than ${BATCH_MESSAGES_MAX} messages`);
    if (at + 20 > end) throw new ProtocolError(`batch message at byte ${at}: header runs past the body`);
    const totalSize = int32At(at);
    if (totalSize < 22 || at + totalSize > end) throw new ProtocolError(`batch message at byte ${at}: total size ${totalSize} is out of range`);
    const bodyLength = int32At(at + 16);
    if (bodyLength < 0 || 20 + bodyLength + 2 > totalSize) throw new ProtocolError(`batch message at byte ${at}: body length ${bodyLength} is out of range`);
    const propertiesLengthAt = at + 20 + bodyLength;
    const propertiesLength = ((body[propertiesLengthAt]! << 24) | (body[propertiesLengthAt + 1]! << 16)) >> 16;
    if (propertiesLength < 0 || 20 + bodyLength + 2 + propertiesLength !== totalSize) {
      throw new ProtocolError(`batch message at byte ${at}: field lengths do not add up to ${totalSize}`);
    }
    if ((count + 1) * BATCH_MEMBER_FIELDS > members.length) {
      const grown = new Int32Array(members.length * 2);
      grown.set(members);
      members = grown;
    }
    const m = count * BATCH_MEMBER_FIELDS;
    members[m + BatchMemberField.FLAG] = int32At(at + 12);
    members[m + BatchMemberField.BODY_START] = at + 20;
    members[m + BatchMemberField.BODY_LENGTH] = bodyLength;
    members[m + BatchMemberField.PROPERTIES_START] = propertiesLengthAt + 2;
    members[m + BatchMemberField.PROPERTIES_LENGTH] = propertiesLength;
    count++;
    at += totalSize;
  }
  if (count === 0) throw new ProtocolError('empty batch');
  return members.subarray(0, count * BATCH_MEMBER_FIELDS);
}

/** The members as objects (tests and tools; the broker's send path uses decodeBatchMembers). */
export function decodeBatchBody(body: Buffer): BatchMessage[] {
  const members = decodeBatchMembers(body);
  const messages: BatchMessage[] = [];
  for (let m = 0; m < members.length; m += BATCH_MEMBER_FIELDS) {
    const bodyStart = members[m + BatchMemberField.BODY_START]!;
    const propertiesStart = members[m + BatchMemberField.PROPERTIES_START]!;
    messages.push({
      flag: members[m + BatchMemberField.FLAG]!,
      body: body.subarray(bodyStart, bodyStart + members[m + BatchMemberField.BODY_LENGTH]!),
      properties: body.toString('utf8', propertiesStart, propertiesStart + members[m + BatchMemberField.PROPERTIES_LENGTH]!),
    });
  }
  return messages;
}

/** The encoder, for Tern's client and tests. */
export function encodeBatchBody(messages: BatchMessage[]): Buffer {
  const parts = messages.map((m) => {
    const properties = Buffer.from(m.properties, 'utf8');
    const out = Buffer.alloc(22 + m.body.length + properties.length);
    out.writeInt32BE(out.length, 0);
    out.writeInt32BE(0, 4);
    out.writeInt32BE(0, 8);
    out.writeInt32BE(m.flag, 12);
    out.writeInt32BE(m.body.length, 16);
    m.body.copy(out, 20);
    out.writeInt16BE(properties.length, 20 + m.body.length);
    properties.copy(out, 22 + m.body.length);
    return out;
  });
  return Buffer.concat(parts);
}
