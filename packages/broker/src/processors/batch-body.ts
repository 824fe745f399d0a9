import { ProtocolError } from '@tern/common';

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

export function decodeBatchBody(body: Buffer): BatchMessage[] {
  const messages: BatchMessage[] = [];
  let at = 0;
  while (at < body.length) {
    if (messages.length >= BATCH_MESSAGES_MAX) throw new ProtocolError(`batch of more than ${BATCH_MESSAGES_MAX} messages`);
    if (at + 20 > body.length) throw new ProtocolError(`batch message at byte ${at}: header runs past the body`);
    const totalSize = body.readInt32BE(at);
    if (totalSize < 22 || at + totalSize > body.length) throw new ProtocolError(`batch message at byte ${at}: total size ${totalSize} is out of range`);
    const flag = body.readInt32BE(at + 12);
    const bodyLength = body.readInt32BE(at + 16);
    if (bodyLength < 0 || 20 + bodyLength + 2 > totalSize) throw new ProtocolError(`batch message at byte ${at}: body length ${bodyLength} is out of range`);
    const messageBody = body.subarray(at + 20, at + 20 + bodyLength);
    const propertiesLength = body.readInt16BE(at + 20 + bodyLength);
    if (propertiesLength < 0 || 20 + bodyLength + 2 + propertiesLength !== totalSize) {
      throw new ProtocolError(`batch message at byte ${at}: field lengths do not add up to ${totalSize}`);
    }
    const propertiesAt = at + 22 + bodyLength;
    messages.push({ flag, body: messageBody, properties: body.toString('utf8', propertiesAt, propertiesAt + propertiesLength) });
    at += totalSize;
  }
  if (messages.length === 0) throw new ProtocolError('empty batch');
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
