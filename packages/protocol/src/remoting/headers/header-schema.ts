import { ProtocolError } from '@tern/common';

/*
 * Custom headers (Java's CommandCustomHeader) travel as the string map `extFields`. Each header is described ONCE by
 * a schema (property → field spec) and decoded / encoded by the two generic functions below; there is no hand-written
 * parser per header. A field's wire key is its property name unless the spec says otherwise (SEND_MESSAGE_V2 uses
 * the letters a..n for the properties of SEND_MESSAGE).
 */

export type HeaderFieldType = 'string' | 'int' | 'long' | 'boolean';
export type HeaderFieldValue<T extends HeaderFieldType> = T extends 'string' ? string : T extends 'boolean' ? boolean : number;

export interface HeaderFieldOptions {
  /** The extFields key, when it differs from the property name. */
  readonly wire?: string;
  /**
   * long only: a valid int64 beyond the safe-integer range is clamped to ±Number.MAX_SAFE_INTEGER instead of being
   * rejected. For bounds Java sends as Long.MAX_VALUE meaning "no limit" (mqadmin queryMsgByKey's endTimestamp).
   */
  readonly saturate?: boolean;
}

interface HeaderFieldBase<T extends HeaderFieldType> extends HeaderFieldOptions {
  readonly type: T;
}
export interface RequiredHeaderField<T extends HeaderFieldType = HeaderFieldType> extends HeaderFieldBase<T> {
  readonly presence: 'required';
}
export interface DefaultedHeaderField<T extends HeaderFieldType = HeaderFieldType> extends HeaderFieldBase<T> {
  readonly presence: 'default';
  readonly default: HeaderFieldValue<T>;
}
export interface OptionalHeaderField<T extends HeaderFieldType = HeaderFieldType> extends HeaderFieldBase<T> {
  readonly presence: 'optional';
}
export type HeaderField = RequiredHeaderField | DefaultedHeaderField | OptionalHeaderField;
export type HeaderSchema = { readonly [property: string]: HeaderField };

type Simplify<T> = { [K in keyof T]: T[K] } & {};

/** The decoded header: required and defaulted fields always present, optional ones possibly absent. */
export type HeaderOf<S extends HeaderSchema> = Simplify<
  { -readonly [K in keyof S as S[K] extends { presence: 'optional' } ? never : K]: HeaderFieldValue<S[K]['type']> } & {
    -readonly [K in keyof S as S[K] extends { presence: 'optional' } ? K : never]?: HeaderFieldValue<S[K]['type']>;
  }
>;

/** What `encodeCustomHeader` takes: required fields present; defaulted ones fall back to their default. */
export type HeaderInput<S extends HeaderSchema> = Simplify<
  { -readonly [K in keyof S as S[K] extends { presence: 'required' } ? K : never]: HeaderFieldValue<S[K]['type']> } & {
    -readonly [K in keyof S as S[K] extends { presence: 'required' } ? never : K]?: HeaderFieldValue<S[K]['type']> | null;
  }
>;

/** Field spec builders: `headerField.required('int')`, `headerField.optional('string')`, `headerField.withDefault('boolean', false)`. */
export const headerField = {
  required<T extends HeaderFieldType>(type: T, options: HeaderFieldOptions = {}): RequiredHeaderField<T> {
    return Object.freeze({ ...options, type, presence: 'required' as const });
  },
  optional<T extends HeaderFieldType>(type: T, options: HeaderFieldOptions = {}): OptionalHeaderField<T> {
    return Object.freeze({ ...options, type, presence: 'optional' as const });
  },
  withDefault<T extends HeaderFieldType>(type: T, value: HeaderFieldValue<T>, options: HeaderFieldOptions = {}): DefaultedHeaderField<T> {
    return Object.freeze({ ...options, type, presence: 'default' as const, default: value });
  },
};

/** Freezes a schema; the identity otherwise (keeps the literal field types for HeaderOf). */
export function defineHeader<const S extends HeaderSchema>(schema: S): S {
  return Object.freeze(schema);
}

/** The same properties under other wire keys (SEND_MESSAGE → SEND_MESSAGE_V2 letters). */
export function renameWireKeys<S extends HeaderSchema>(schema: S, wireKeys: { readonly [K in keyof S]: string }): S {
  const out: Record<string, HeaderField> = {};
  for (const [property, spec] of Object.entries(schema)) out[property] = Object.freeze({ ...spec, wire: wireKeys[property] });
  return Object.freeze(out) as S;
}

/** An empty schema, for requests that carry everything in the body (HEART_BEAT, LOCK_BATCH_MQ...). */
export const NoHeader = defineHeader({});
export type NoHeader = HeaderOf<typeof NoHeader>;

/** A custom header field is missing or malformed. `field` is the wire key (with the property name for V2 letters). */
export class HeaderError extends ProtocolError {
  readonly field: string;
  constructor(field: string, message: string) {
    super(message);
    this.field = field;
  }
}

export function wireKey(property: string, spec: HeaderField): string {
  return spec.wire ?? property;
}

function label(property: string, spec: HeaderField): string {
  const wire = wireKey(property, spec);
  return wire === property ? property : `${wire} (${property})`;
}

function quote(raw: string): string {
  return JSON.stringify(raw.length > 64 ? `${raw.slice(0, 64)}…` : raw);
}

const INTEGER = /^[+-]?\d+$/;
const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

function parseField(property: string, spec: HeaderField, raw: string): string | number | boolean {
  switch (spec.type) {
    case 'string':
      return raw;
    case 'boolean': {
      const lower = raw.toLowerCase();
      if (lower === 'true') return true;
      if (lower === 'false') return false;
      throw new HeaderError(label(property, spec), `header field ${label(property, spec)} is not a boolean: ${quote(raw)}`);
    }
    case 'int': {
      if (!INTEGER.test(raw)) throw new HeaderError(label(property, spec), `header field ${label(property, spec)} is not an integer: ${quote(raw)}`);
      const value = Number(raw);
      if (value < INT32_MIN || value > INT32_MAX) {
        throw new HeaderError(label(property, spec), `header field ${label(property, spec)} is out of the int32 range: ${quote(raw)}`);
      }
      return value === 0 ? 0 : value; // no -0
    }
    case 'long': {
      if (!INTEGER.test(raw)) throw new HeaderError(label(property, spec), `header field ${label(property, spec)} is not an integer: ${quote(raw)}`);
      const value = Number(raw);
      if (Number.isSafeInteger(value)) return value === 0 ? 0 : value;
      const big = raw.length <= 40 ? BigInt(raw) : null;
      if (big === null || big < INT64_MIN || big > INT64_MAX) {
        throw new HeaderError(label(property, spec), `header field ${label(property, spec)} is out of the int64 range: ${quote(raw)}`);
      }
      if (spec.saturate) return big < 0n ? -Number.MAX_SAFE_INTEGER : Number.MAX_SAFE_INTEGER;
      throw new HeaderError(label(property, spec), `header field ${label(property, spec)} is not a safe integer: ${quote(raw)}`);
    }
  }
}

/**
 * Decodes a custom header from a command's extFields. Throws HeaderError naming the field that is missing or
 * malformed. Unknown extFields (AccessKey, Signature, MSG_REGION...) are ignored.
 */
export function decodeCustomHeader<S extends HeaderSchema>(schema: S, extFields: Readonly<Record<string, unknown>>): HeaderOf<S> {
  const out: Record<string, unknown> = {};
  for (const [property, spec] of Object.entries(schema)) {
    const wire = wireKey(property, spec);
    const value = Object.hasOwn(extFields, wire) ? extFields[wire] : undefined;
    if (value === undefined || value === null) {
      if (spec.presence === 'required') throw new HeaderError(label(property, spec), `missing header field ${label(property, spec)}`);
      if (spec.presence === 'default') out[property] = spec.default;
      continue;
    }
    out[property] = parseField(property, spec, typeof value === 'string' ? value : String(value));
  }
  return out as HeaderOf<S>;
}

function checkValue(property: string, spec: HeaderField, value: unknown): string {
  const where = label(property, spec);
  switch (spec.type) {
    case 'string':
      if (typeof value !== 'string') throw new HeaderError(where, `header field ${where} must be a string, got ${typeof value}`);
      return value;
    case 'boolean':
      if (typeof value !== 'boolean') throw new HeaderError(where, `header field ${where} must be a boolean, got ${typeof value}`);
      return String(value);
    case 'int':
      if (!Number.isInteger(value) || (value as number) < INT32_MIN || (value as number) > INT32_MAX) {
        throw new HeaderError(where, `header field ${where} must be an int32, got ${String(value)}`);
      }
      return String(value);
    case 'long':
      if (!Number.isSafeInteger(value)) throw new HeaderError(where, `header field ${where} must be a safe integer, got ${String(value)}`);
      return String(value);
  }
}

/**
 * Encodes a custom header as the string extFields Java holds. Absent defaulted fields are written with their default
 * (Java writes its primitives); absent optional fields are left out. Throws HeaderError for a missing required
 * field or a value of the wrong type.
 */
export function encodeCustomHeader<S extends HeaderSchema>(schema: S, value: HeaderInput<S>): Record<string, string> {
  const input = value as Readonly<Record<string, unknown>>;
  const out: Record<string, string> = {};
  for (const [property, spec] of Object.entries(schema)) {
    let v = Object.hasOwn(input, property) ? input[property] : undefined;
    if (v === undefined || v === null) {
      if (spec.presence === 'required') throw new HeaderError(label(property, spec), `missing header field ${label(property, spec)}`);
      if (spec.presence === 'optional') continue;
      v = spec.default;
    }
    out[wireKey(property, spec)] = checkValue(property, spec, v);
  }
  return out;
}
