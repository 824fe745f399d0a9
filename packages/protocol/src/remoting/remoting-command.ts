/*
 * RocketMQ 4.x remoting frame, big-endian (remoting/.../protocol/RemotingCommand.java):
 * ┌──────────────┬───────────────────────────────────────┬──────────────┬──────────────┐
 * │ length int32 │ serializeType << 24 | headerLength    │ header       │ body         │
 * │ (excl. self) │ int32 (0 JSON, 1 ROCKETMQ)            │ headerLength │ the rest     │
 * └──────────────┴───────────────────────────────────────┴──────────────┴──────────────┘
 * flag bit 0 = response, bit 1 = oneway. `opaque` correlates a response with its request, per connection.
 */
export const SerializeType = { JSON: 0, ROCKETMQ: 1 } as const;
export type SerializeType = (typeof SerializeType)[keyof typeof SerializeType];

export const RemotingFlag = { RESPONSE: 1, ONEWAY: 2 } as const;

/** LanguageCode ordinals, used by the ROCKETMQ binary header. */
export const LANGUAGE_CODES = ['JAVA', 'CPP', 'DOTNET', 'PYTHON', 'DELPHI', 'ERLANG', 'RUBY', 'OTHER', 'HTTP', 'GO', 'PHP', 'OMS', 'RUST'] as const;

/** RocketMQ's frameMaxLength: a frame longer than this closes the connection. */
export const FRAME_MAX_BYTES_DEFAULT = 16 * 1024 * 1024;

/** The version Tern's own requests carry (RocketMQ V4_9_4 = 401, so peers use standard JSON for routes). */
export const TERN_REMOTING_VERSION = 401;

export interface RemotingCommand {
  code: number;
  language: string;
  version: number;
  opaque: number;
  flag: number;
  remark: string | null;
  /** Always strings: numbers and booleans from JSON headers are coerced on decode (ali-ons sends them raw). */
  extFields: Record<string, string>;
  body: Buffer | null;
  serializeType: SerializeType;
}

export function isResponse(command: RemotingCommand): boolean {
  return (command.flag & RemotingFlag.RESPONSE) !== 0;
}

export function isOneway(command: RemotingCommand): boolean {
  return (command.flag & RemotingFlag.ONEWAY) !== 0;
}

export function requestCommand(
  code: number,
  extFields: Record<string, string | number | boolean | undefined | null> = {},
  body: Buffer | null = null,
  options: { oneway?: boolean; serializeType?: SerializeType } = {},
): RemotingCommand {
  return {
    code, language: 'JAVA', version: TERN_REMOTING_VERSION, opaque: 0, flag: options.oneway ? RemotingFlag.ONEWAY : 0,
    remark: null, extFields: stringFields(extFields), body, serializeType: options.serializeType ?? SerializeType.JSON,
  };
}

/** A response to `request`: same opaque and serialisation, response flag set. */
export function responseCommand(
  request: Pick<RemotingCommand, 'opaque' | 'serializeType'>,
  code: number,
  remark: string | null = null,
  extFields: Record<string, string | number | boolean | undefined | null> = {},
  body: Buffer | null = null,
): RemotingCommand {
  return {
    code, language: 'JAVA', version: TERN_REMOTING_VERSION, opaque: request.opaque, flag: RemotingFlag.RESPONSE, remark,
    extFields: stringFields(extFields), body, serializeType: request.serializeType,
  };
}

/** Drops null/undefined and turns numbers and booleans into strings, as Java's HashMap<String, String> holds them. */
export function stringFields(fields: Record<string, string | number | boolean | undefined | null>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(fields)) if (value !== undefined && value !== null) out[key] = String(value);
  return out;
}
