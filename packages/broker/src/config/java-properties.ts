import { InvalidArgumentError } from '@tern/common';

/**
 * Parses the Java properties format RocketMQ's broker.conf uses: `key=value` or `key: value` or `key value`,
 * `#`/`!` comments, backslash line continuations and escapes (\t \n \uXXXX). Later keys win, as in Java.
 */
export function parseJavaProperties(text: string): Map<string, string> {
  const properties = new Map<string, string>();
  const lines = text.split(/\r\n|\r|\n/);
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i]!.replace(/^[ \t\f]+/, '');
    if (line.length === 0 || line.startsWith('#') || line.startsWith('!')) continue;
    // Continuation: an odd number of trailing backslashes joins the next line.
    while (/(^|[^\\])(\\\\)*\\$/.test(line)) {
      // A continuation on the last line joins nothing: Java's LineReader drops the backslash.
      line = line.slice(0, -1) + (i + 1 < lines.length ? lines[++i]!.replace(/^[ \t\f]+/, '') : '');
      if (i + 1 >= lines.length && !/(^|[^\\])(\\\\)*\\$/.test(line)) break;
    }
    const separator = findSeparator(line);
    const rawKey = separator < 0 ? line : line.slice(0, separator);
    let rest = separator < 0 ? '' : line.slice(separator);
    rest = rest.replace(/^[ \t\f]*[=:]?[ \t\f]*/, '');
    properties.set(unescape(rawKey, i + 1), unescape(rest, i + 1));
  }
  return properties;
}

function findSeparator(line: string): number {
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (c === '\\') i++;
    else if (c === '=' || c === ':' || c === ' ' || c === '\t' || c === '\f') return i;
  }
  return -1;
}

function unescape(text: string, lineNumber: number): string {
  return text.replace(/\\(u[0-9a-fA-F]{4}|.)/g, (_, escaped: string) => {
    if (escaped.length === 5) return String.fromCharCode(parseInt(escaped.slice(1), 16));
    if (escaped.startsWith('u')) throw InvalidArgumentError.format(`line ${lineNumber}`, 'malformed \\uXXXX escape');
    return { t: '\t', n: '\n', r: '\r', f: '\f' }[escaped] ?? escaped;
  });
}
