import { ProtocolError } from '@tern/common';

/*
 * JSON bodies (Java's RemotingSerializable, written by fastjson). Each body type is described once by a shape; ONE
 * generic decoder validates a parsed body against it (naming the offending path) and ONE generic encoder writes it
 * the way fastjson does: object keys sorted (bean fields alphabetically; map keys integer-first, then by code unit),
 * null/absent fields left out, so the output is deterministic (ali-ons compares route JSONs as strings).
 */

export type BodyShape =
  | { readonly kind: 'string' }
  | { readonly kind: 'int' }
  | { readonly kind: 'boolean' }
  | { readonly kind: 'array'; readonly item: BodyShape }
  | { readonly kind: 'map'; readonly value: BodyShape }
  | { readonly kind: 'object'; readonly fields: { readonly [name: string]: BodyFieldShape } };
export type OptionalBodyShape = { readonly kind: 'optional'; readonly shape: BodyShape };
export type DefaultedBodyShape = { readonly kind: 'default'; readonly shape: BodyShape; readonly value: unknown };
export type BodyFieldShape = BodyShape | OptionalBodyShape | DefaultedBodyShape;

type Simplify<T> = { [K in keyof T]: T[K] } & {};
type Unwrap<F> = F extends { kind: 'optional' | 'default'; shape: infer S } ? S : F;

/** The TypeScript type a shape describes. */
export type BodyOf<S> = [BodyShape] extends [S]
  ? unknown // the wide, recursive BodyShape itself: stop here instead of expanding forever
  : S extends { kind: 'string' }
  ? string
  : S extends { kind: 'int' }
    ? number
    : S extends { kind: 'boolean' }
      ? boolean
      : S extends { kind: 'array'; item: infer I }
        ? BodyOf<I>[]
        : S extends { kind: 'map'; value: infer V }
          ? Record<string, BodyOf<V>>
          : S extends { kind: 'object'; fields: infer F }
            ? Simplify<
                { -readonly [K in keyof F as F[K] extends { kind: 'optional' } ? never : K]: BodyOf<Unwrap<F[K]>> } & {
                  -readonly [K in keyof F as F[K] extends { kind: 'optional' } ? K : never]?: BodyOf<Unwrap<F[K]>>;
                }
              >
            : never;

/** Shape builders. `int` is a safe integer (Java int and long alike). */
export const jsonShape = {
  string: Object.freeze({ kind: 'string' as const }),
  int: Object.freeze({ kind: 'int' as const }),
  boolean: Object.freeze({ kind: 'boolean' as const }),
  array<I extends BodyShape>(item: I): { readonly kind: 'array'; readonly item: I } {
    return Object.freeze({ kind: 'array' as const, item });
  },
  /** A JSON object used as a map (Java Map<K, V>; integer keys become strings, e.g. brokerAddrs {"0": ...}). */
  map<V extends BodyShape>(value: V): { readonly kind: 'map'; readonly value: V } {
    return Object.freeze({ kind: 'map' as const, value });
  },
  /** A Java bean: fixed fields. Unknown keys in input are ignored. */
  object<const F extends { readonly [name: string]: BodyFieldShape }>(fields: F): { readonly kind: 'object'; readonly fields: F } {
    return Object.freeze({ kind: 'object' as const, fields: Object.freeze(fields) });
  },
  /** May be absent (or null). */
  optional<S extends BodyShape>(shape: S): { readonly kind: 'optional'; readonly shape: S } {
    return Object.freeze({ kind: 'optional' as const, shape });
  },
  /** Absent (or null) decodes as a copy of `value`. */
  withDefault<S extends BodyShape>(shape: S, value: BodyOf<S>): { readonly kind: 'default'; readonly shape: S; readonly value: BodyOf<S> } {
    return Object.freeze({ kind: 'default' as const, shape, value });
  },
};

const BARE_INTEGER_KEY = /[ \t\r\n]*(-?\d+)[ \t\r\n]*:/y;

/**
 * fastjson writes maps with integer keys without quotes (`{"brokerAddrs":{0:"127.0.0.1:10911"}}`) unless asked for
 * standard JSON. This quotes every bare integer key (outside strings) so that JSON.parse accepts the text; text
 * without such keys is returned unchanged.
 */
export function quoteBareIntegerKeys(text: string): string {
  let out: string[] | null = null;
  let copied = 0;
  const n = text.length;
  let i = 0;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      // Skip a string literal, escapes included.
      i++;
      while (i < n) {
        const d = text.charCodeAt(i);
        if (d === 0x5c) i += 2;
        else {
          i++;
          if (d === 0x22) break;
        }
      }
      continue;
    }
    if (c === 0x7b || c === 0x2c) {
      BARE_INTEGER_KEY.lastIndex = i + 1;
      const match = BARE_INTEGER_KEY.exec(text);
      if (match) {
        out ??= [];
        out.push(text.slice(copied, i + 1), `"${match[1]}":`);
        copied = BARE_INTEGER_KEY.lastIndex;
        i = copied;
        continue;
      }
    }
    i++;
  }
  if (out === null) return text;
  out.push(text.slice(copied));
  return out.join('');
}

/** Parses a JSON body, tolerating fastjson's bare integer keys. Throws ProtocolError. */
export function parseJsonBody(body: Buffer | null | undefined, what = 'body'): unknown {
  if (!body || body.length === 0) throw new ProtocolError(`${what}: empty body`);
  const text = body.toString('utf8');
  try {
    return JSON.parse(text);
  } catch {
    try {
      return JSON.parse(quoteBareIntegerKeys(text));
    } catch (error) {
      throw new ProtocolError(`${what}: body is not JSON: ${(error as Error).message}`);
    }
  }
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  else target[key] = value;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Validates `value` against `shape`, filling defaults; throws ProtocolError naming the path. */
export function decodeShape<S extends BodyShape>(shape: S, value: unknown, path: string): BodyOf<S> {
  return decodeAny(shape, value, path) as BodyOf<S>;
}

function decodeAny(shape: BodyShape, value: unknown, path: string): unknown {
  const fail = (expected: string): never => {
    throw new ProtocolError(`${path} is not ${expected} (got ${typeName(value)})`);
  };
  switch (shape.kind) {
    case 'string':
      return typeof value === 'string' ? value : fail('a string');
    case 'int':
      return (Number.isSafeInteger(value) ? value : fail('an integer'));
    case 'boolean':
      return (typeof value === 'boolean' ? value : fail('a boolean'));
    case 'array': {
      if (!Array.isArray(value)) return fail('an array');
      return value.map((item, index) => decodeAny(shape.item, item, `${path}[${index}]`));
    }
    case 'map': {
      if (!isPlainObject(value)) return fail('an object');
      const out: Record<string, unknown> = {};
      for (const [key, item] of Object.entries(value)) setOwn(out, key, decodeAny(shape.value, item, `${path}.${key}`));
      return out;
    }
    case 'object': {
      if (!isPlainObject(value)) return fail('an object');
      const out: Record<string, unknown> = {};
      for (const [name, fieldShape] of Object.entries(shape.fields)) {
        const item = Object.hasOwn(value, name) ? value[name] : undefined;
        const where = `${path}.${name}`;
        if (fieldShape.kind === 'optional' || fieldShape.kind === 'default') {
          if (item === undefined || item === null) {
            if (fieldShape.kind === 'default') out[name] = structuredClone(fieldShape.value);
            continue;
          }
          out[name] = decodeAny(fieldShape.shape, item, where);
        } else {
          if (item === undefined || item === null) throw new ProtocolError(`${where} is missing`);
          out[name] = decodeAny(fieldShape, item, where);
        }
      }
      return out;
    }
  }
}

const CANONICAL_INTEGER = /^(0|-?[1-9]\d*)$/;

/** fastjson-like key order: integer keys numerically first, then the rest by UTF-16 code unit (Java compareTo). */
export function compareJsonKeys(a: string, b: string): number {
  const ai = CANONICAL_INTEGER.test(a);
  const bi = CANONICAL_INTEGER.test(b);
  if (ai && bi) return Number(a) - Number(b) || (a < b ? -1 : a > b ? 1 : 0);
  if (ai !== bi) return ai ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

function encodeShapeInto(shape: BodyShape, value: unknown, path: string, out: string[]): void {
  switch (shape.kind) {
    case 'string':
      if (typeof value !== 'string') throw new ProtocolError(`${path} must be a string to encode`);
      out.push(JSON.stringify(value));
      return;
    case 'int':
      if (!Number.isSafeInteger(value)) throw new ProtocolError(`${path} must be a safe integer to encode`);
      out.push(String(value));
      return;
    case 'boolean':
      if (typeof value !== 'boolean') throw new ProtocolError(`${path} must be a boolean to encode`);
      out.push(value ? 'true' : 'false');
      return;
    case 'array': {
      if (!Array.isArray(value)) throw new ProtocolError(`${path} must be an array to encode`);
      out.push('[');
      value.forEach((item, index) => {
        if (index > 0) out.push(',');
        encodeShapeInto(shape.item, item, `${path}[${index}]`, out);
      });
      out.push(']');
      return;
    }
    case 'map': {
      if (!isPlainObject(value)) throw new ProtocolError(`${path} must be an object to encode`);
      const keys = Object.keys(value).filter((k) => value[k] !== undefined && value[k] !== null).sort(compareJsonKeys);
      out.push('{');
      keys.forEach((key, index) => {
        if (index > 0) out.push(',');
        out.push(JSON.stringify(key), ':');
        encodeShapeInto(shape.value, value[key], `${path}.${key}`, out);
      });
      out.push('}');
      return;
    }
    case 'object': {
      if (!isPlainObject(value)) throw new ProtocolError(`${path} must be an object to encode`);
      out.push('{');
      let first = true;
      for (const name of Object.keys(shape.fields).sort(compareJsonKeys)) {
        const fieldShape = shape.fields[name]!;
        const item = Object.hasOwn(value, name) ? value[name] : undefined;
        if (item === undefined || item === null) {
          if (fieldShape.kind === 'optional' || fieldShape.kind === 'default') continue;
          throw new ProtocolError(`${path}.${name} is missing`);
        }
        if (!first) out.push(',');
        first = false;
        out.push(JSON.stringify(name), ':');
        encodeShapeInto(fieldShape.kind === 'optional' || fieldShape.kind === 'default' ? fieldShape.shape : fieldShape, item, `${path}.${name}`, out);
      }
      out.push('}');
      return;
    }
  }
}

/** The canonical (fastjson-ordered, standard) JSON text of `value` as `shape` describes it; extra properties are left out. */
export function encodeShape<S extends BodyShape>(shape: S, value: BodyOf<S>, path?: string): string;
export function encodeShape(shape: BodyShape, value: unknown, path = 'body'): string {
  const out: string[] = [];
  encodeShapeInto(shape, value, path, out);
  return out.join('');
}

/** A JSON body type: its shape plus `encode` (→ Buffer, deterministic) and `decode` (Buffer → validated value). */
export interface JsonBodyCodec<S extends BodyShape> {
  readonly name: string;
  readonly shape: S;
  encode(value: BodyOf<S>): Buffer;
  /** Text form of `encode`. */
  stringify(value: BodyOf<S>): string;
  /** Throws ProtocolError for an empty body, non-JSON text or a value that does not fit the shape. */
  decode(body: Buffer | null | undefined): BodyOf<S>;
}

export function jsonBody<S extends BodyShape>(name: string, shape: S): JsonBodyCodec<S> {
  const codec: JsonBodyCodec<S> = {
    name,
    shape,
    stringify: (value) => encodeShape(shape, value, name),
    encode: (value) => Buffer.from(encodeShape(shape, value, name), 'utf8'),
    decode: (body) => decodeShape(shape, parseJsonBody(body, name), name),
  };
  return Object.freeze(codec);
}
