import { ProtocolError } from '@tern/common';
import { LANGUAGE_CODES, type RemotingCommand, SerializeType } from './remoting-command.js';

type HeaderFields = Omit<RemotingCommand, 'body' | 'serializeType'>;

/** The JSON header as Java (fastjson) writes it. */
export function encodeJsonHeader(command: RemotingCommand): Buffer {
  const header: Record<string, unknown> = {
    code: command.code, extFields: command.extFields, flag: command.flag, language: command.language,
    opaque: command.opaque, serializeTypeCurrentRPC: 'JSON', version: command.version,
  };
  if (command.remark !== null) header.remark = command.remark;
  return Buffer.from(JSON.stringify(header), 'utf8');
}

export function decodeJsonHeader(bytes: Buffer): HeaderFields {
  let parsed: unknown;
  try {
    parsed = JSON.parse(bytes.toString('utf8'));
  } catch (error) {
    throw new ProtocolError(`JSON header does not parse: ${(error as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new ProtocolError('JSON header is not an object');
  const header = parsed as Record<string, unknown>;
  const integer = (name: string, fallback?: number): number => {
    const value = header[name];
    if (value === undefined && fallback !== undefined) return fallback;
    if (typeof value !== 'number' || !Number.isInteger(value)) throw new ProtocolError(`JSON header field ${name} is not an integer`);
    return value;
  };
  const extFields: Record<string, string> = {};
  const rawExt = header.extFields;
  if (rawExt !== undefined && rawExt !== null) {
    if (typeof rawExt !== 'object' || Array.isArray(rawExt)) throw new ProtocolError('JSON header field extFields is not an object');
    for (const [key, value] of Object.entries(rawExt as Record<string, unknown>)) {
      if (value === null || value === undefined) continue;
      extFields[key] = typeof value === 'object' ? JSON.stringify(value) : String(value);
    }
  }
  const remark = header.remark;
  return {
    code: integer('code'),
    language: typeof header.language === 'string' ? header.language : 'JAVA',
    version: integer('version', 0),
    opaque: integer('opaque', 0),
    flag: integer('flag', 0),
    remark: remark === undefined || remark === null ? null : String(remark),
    extFields,
  };
}

/**
 * The ROCKETMQ binary header (RocketMQSerializable):
 * int16 code | int8 language | int16 version | int32 opaque | int32 flag | int32 remarkLen | remark |
 * int32 extLen | { int16 keyLen | key | int32 valueLen | value }*
 */
export function encodeBinaryHeader(command: RemotingCommand): Buffer {
  const remark = command.remark === null ? null : Buffer.from(command.remark, 'utf8');
  const entries = Object.entries(command.extFields).map(([k, v]) => [Buffer.from(k, 'utf8'), Buffer.from(v, 'utf8')] as const);
  const extBytes = entries.reduce((sum, [k, v]) => sum + 2 + k.length + 4 + v.length, 0);
  const header = Buffer.alloc(2 + 1 + 2 + 4 + 4 + 4 + (remark?.length ?? 0) + 4 + extBytes);
  let at = header.writeInt16BE(command.code, 0);
  const languageCode = LANGUAGE_CODES.indexOf(command.language as (typeof LANGUAGE_CODES)[number]);
  at = header.writeUInt8(languageCode < 0 ? 7 : languageCode, at);
  at = header.writeInt16BE(command.version, at);
  at = header.writeInt32BE(command.opaque, at);
  at = header.writeInt32BE(command.flag, at);
  at = header.writeInt32BE(remark?.length ?? 0, at);
  if (remark) at += remark.copy(header, at);
  at = header.writeInt32BE(extBytes, at);
  for (const [key, value] of entries) {
    at = header.writeInt16BE(key.length, at);
    at += key.copy(header, at);
    at = header.writeInt32BE(value.length, at);
    at += value.copy(header, at);
  }
  return header;
}

export function decodeBinaryHeader(bytes: Buffer): HeaderFields {
  let at = 0;
  const need = (count: number, what: string): void => {
    if (count < 0 || at + count > bytes.length) throw new ProtocolError(`ROCKETMQ header: ${what} runs past the header (${at}+${count} > ${bytes.length})`);
  };
  need(17, 'fixed fields');
  const code = bytes.readInt16BE(at);
  const languageCode = bytes.readUInt8(at + 2);
  const version = bytes.readInt16BE(at + 3);
  const opaque = bytes.readInt32BE(at + 5);
  const flag = bytes.readInt32BE(at + 9);
  const remarkLength = bytes.readInt32BE(at + 13);
  at += 17;
  need(remarkLength, 'remark');
  const remark = remarkLength > 0 ? bytes.toString('utf8', at, at + remarkLength) : null;
  at += remarkLength;
  need(4, 'extFields length');
  const extLength = bytes.readInt32BE(at);
  at += 4;
  need(extLength, 'extFields');
  const extEnd = at + extLength;
  const extFields: Record<string, string> = {};
  while (at < extEnd) {
    need(2, 'extFields key length');
    const keyLength = bytes.readInt16BE(at);
    at += 2;
    need(keyLength, 'extFields key');
    const key = bytes.toString('utf8', at, at + keyLength);
    at += keyLength;
    need(4, 'extFields value length');
    const valueLength = bytes.readInt32BE(at);
    at += 4;
    need(valueLength, 'extFields value');
    extFields[key] = bytes.toString('utf8', at, at + valueLength);
    at += valueLength;
  }
  if (at !== extEnd) throw new ProtocolError('ROCKETMQ header: extFields overrun');
  return { code, language: LANGUAGE_CODES[languageCode] ?? 'OTHER', version, opaque, flag, remark, extFields };
}

export function decodeHeader(serializeType: number, bytes: Buffer): HeaderFields {
  if (serializeType === SerializeType.JSON) return decodeJsonHeader(bytes);
  if (serializeType === SerializeType.ROCKETMQ) return decodeBinaryHeader(bytes);
  throw new ProtocolError(`unknown header serialize type ${serializeType}`);
}
