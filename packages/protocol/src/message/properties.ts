import { ProtocolError } from '@tern/common';

/** Separators of RocketMQ's properties string: `name \u0001 value \u0002 name \u0001 value`. */
export const NAME_VALUE_SEPARATOR = '\u0001';
export const PROPERTY_SEPARATOR = '\u0002';

/** RocketMQ rejects a properties string longer than this (Short.MAX_VALUE bytes). */
export const PROPERTIES_MAX_BYTES = 32767;

/** Encodes properties the way Java 4.9 does: no trailing separator, entries with an empty name or value dropped. */
export function encodeProperties(properties: ReadonlyMap<string, string> | Record<string, string>): string {
  let out = '';
  if (properties instanceof Map) {
    for (const [name, value] of properties as ReadonlyMap<string, string>) out = appendEncodedProperty(out, name, value);
  } else {
    for (const name of Object.keys(properties)) out = appendEncodedProperty(out, name, (properties as Record<string, string>)[name]!);
  }
  return out;
}

function appendEncodedProperty(out: string, name: string, value: string): string {
  if (name.length === 0 || value.length === 0) return out;
  if (name.includes(NAME_VALUE_SEPARATOR) || name.includes(PROPERTY_SEPARATOR)) {
    throw new ProtocolError(`property name ${JSON.stringify(name)} contains a separator character`);
  }
  if (value.includes(NAME_VALUE_SEPARATOR) || value.includes(PROPERTY_SEPARATOR)) {
    throw new ProtocolError(`property ${name} has a value containing a separator character`);
  }
  return out.length > 0 ? out + PROPERTY_SEPARATOR + name + NAME_VALUE_SEPARATOR + value : name + NAME_VALUE_SEPARATOR + value;
}

/** Decodes a properties string; tolerates a trailing separator (ali-ons writes one) and drops empty items. */
export function decodeProperties(text: string): Map<string, string> {
  return new Map(Object.entries(decodePropertiesToObject(text)));
}

/**
 * The same into a plain object, in one pass without intermediate arrays (clients decode the properties of every
 * received message). `skip` names a property to leave out. The last non-empty value of a repeated name wins, as in
 * Java's parser.
 */
export function decodePropertiesToObject(text: string, skip?: string): Record<string, string> {
  const properties: Record<string, string> = {};
  let start = 0;
  while (start < text.length) {
    let end = text.indexOf(PROPERTY_SEPARATOR, start);
    if (end === -1) end = text.length;
    const at = text.indexOf(NAME_VALUE_SEPARATOR, start);
    if (at > start && at < end - 1) {
      const name = text.slice(start, at);
      // A property named __proto__ is data from the wire, never the object's prototype.
      if (name === '__proto__') Object.defineProperty(properties, name, { value: text.slice(at + 1, end), enumerable: true, writable: true, configurable: true });
      else if (name !== skip) properties[name] = text.slice(at + 1, end);
    }
    start = end + 1;
  }
  return properties;
}

/**
 * Finds one property without building the whole map (the store reads TAGS, KEYS and UNIQ_KEY per put). Like
 * decodeProperties and Java's parser, the last non-empty value of a repeated name wins.
 */
export function findProperty(text: string, name: string): string | undefined {
  const prefix = name + NAME_VALUE_SEPARATOR;
  let found: string | undefined;
  let start = 0;
  while (start < text.length) {
    let end = text.indexOf(PROPERTY_SEPARATOR, start);
    if (end === -1) end = text.length;
    if (text.startsWith(prefix, start) && end > start + prefix.length) found = text.slice(start + prefix.length, end);
    start = end + 1;
  }
  return found;
}

/** TAGS, KEYS, UNIQ_KEY and DELAY of a properties string, found in one pass (the store needs them per put). */
export interface KeyProperties {
  tags: string | undefined;
  keys: string | undefined;
  uniqKey: string | undefined;
  /** DELAY: the delay level, for messages bound for SCHEDULE_TOPIC_XXXX. */
  delay: string | undefined;
}

export function findKeyProperties(text: string): KeyProperties {
  const found: KeyProperties = { tags: undefined, keys: undefined, uniqKey: undefined, delay: undefined };
  let start = 0;
  while (start < text.length) {
    let end = text.indexOf(PROPERTY_SEPARATOR, start);
    if (end === -1) end = text.length;
    const at = text.indexOf(NAME_VALUE_SEPARATOR, start);
    if (at > start && at < end - 1) {
      const nameLength = at - start;
      // Compare lengths first: most properties are none of the three.
      if (nameLength === 4 && text.startsWith('TAGS', start)) found.tags = text.slice(at + 1, end);
      else if (nameLength === 4 && text.startsWith('KEYS', start)) found.keys = text.slice(at + 1, end);
      else if (nameLength === 8 && text.startsWith('UNIQ_KEY', start)) found.uniqKey = text.slice(at + 1, end);
      else if (nameLength === 5 && text.startsWith('DELAY', start)) found.delay = text.slice(at + 1, end);
    }
    start = end + 1;
  }
  return found;
}
