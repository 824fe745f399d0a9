import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidArgumentError } from '@tern/common';
import { parseJavaProperties } from '../src/config/java-properties.js';

function parsed(text: string): Record<string, string> {
  return Object.fromEntries(parseJavaProperties(text));
}

describe('parseJavaProperties', () => {
  it('accepts the three separators: key=value, key: value, key value', () => {
    assert.deepEqual(parsed('a=1\nb: 2\nc 3\nd\t4\ne = 5\nf : 6\ng    7'), {
      a: '1', b: '2', c: '3', d: '4', e: '5', f: '6', g: '7',
    });
  });

  it('keeps the value after the first separator as is (later = and : included), trailing blanks too', () => {
    assert.deepEqual(parsed('namesrvAddr=127.0.0.1:9876;127.0.0.2:9876\nk==v\nx: a:b=c\ny=v  '), {
      namesrvAddr: '127.0.0.1:9876;127.0.0.2:9876', k: '=v', x: 'a:b=c', y: 'v  ',
    });
  });

  it('a key alone or with an empty value maps to ""', () => {
    assert.deepEqual(parsed('alone\nempty=\ncolon:'), { alone: '', empty: '', colon: '' });
  });

  it('skips # and ! comments (also indented) and blank lines', () => {
    const text = '# comment=1\n! also=2\n   # indented=3\n\t! tabbed=4\n\n   \nreal=yes';
    assert.deepEqual(parsed(text), { real: 'yes' });
  });

  it('a comment is not a separator in the middle of a line', () => {
    assert.deepEqual(parsed('a=b # not a comment'), { a: 'b # not a comment' });
  });

  it('strips leading whitespace of lines', () => {
    assert.deepEqual(parsed('   brokerId = 0\n\t\tbrokerName=broker-b'), { brokerId: '0', brokerName: 'broker-b' });
  });

  it('joins continuation lines, dropping the leading whitespace of the continued line', () => {
    const text = 'messageDelayLevel=1s 5s \\\n     10s 30s \\\n\t1m\nnext=1';
    assert.deepEqual(parsed(text), { messageDelayLevel: '1s 5s 10s 30s 1m', next: '1' });
  });

  it('a line continued into a "#" line takes it as content, not as a comment', () => {
    assert.deepEqual(parsed('a=1\\\n#2\nb=3'), { a: '1#2', b: '3' });
  });

  it('a backslash at the end of a comment does not continue the comment', () => {
    assert.deepEqual(parsed('# comment \\\nkey=value'), { key: 'value' });
  });

  it('an even number of trailing backslashes is an escaped backslash, not a continuation', () => {
    assert.deepEqual(parsed('path=C:\\\\dir\\\\\nnext=1'), { path: 'C:\\dir\\', next: '1' });
  });

  it('three trailing backslashes: an escaped backslash plus a continuation', () => {
    assert.deepEqual(parsed('a=x\\\\\\\n  y'), { a: 'x\\y' });
  });

  it('decodes escapes \\t \\n \\r \\f \\uXXXX \\= \\: \\\\ and drops the backslash before other characters', () => {
    const text = 'tab=a\\tb\nnl=a\\nb\ncr=a\\rb\nff=a\\fb\nuni=\\u0048\\u0069\\u00e9\nsep=a\\=b\\:c\nbs=a\\\\b\nother=\\q\\z';
    assert.deepEqual(parsed(text), {
      tab: 'a\tb', nl: 'a\nb', cr: 'a\rb', ff: 'a\fb', uni: 'Hié', sep: 'a=b:c', bs: 'a\\b', other: 'qz',
    });
  });

  it('escaped separators and blanks belong to the key', () => {
    assert.deepEqual(parsed('a\\=b=c\nmy\\ key value\nx\\:y:z'), { 'a=b': 'c', 'my key': 'value', 'x:y': 'z' });
  });

  it('a malformed \\u escape is an InvalidArgumentError naming the line', () => {
    assert.throws(() => parseJavaProperties('ok=1\nbad=\\u12G4'), (error: unknown) => {
      assert.ok(error instanceof InvalidArgumentError);
      assert.match(error.message, /line 2/);
      return true;
    });
  });

  it('later keys win, as in java.util.Properties', () => {
    const properties = parseJavaProperties('listenPort=10911\nbrokerName=a\nlistenPort=20911');
    assert.equal(properties.get('listenPort'), '20911');
    assert.equal(properties.get('brokerName'), 'a');
    assert.equal(properties.size, 2);
  });

  it('handles CRLF and lone CR line ends, continuations included', () => {
    assert.deepEqual(parsed('a=1\r\nb=2\r\nc=x \\\r\n   y\r\n# c\r\nd=4\re=5\r\n'), { a: '1', b: '2', c: 'x y', d: '4', e: '5' });
  });

  it('parses a typical RocketMQ broker.conf', () => {
    const text = [
      '# broker.conf',
      'brokerClusterName = DefaultCluster',
      'brokerName = broker-a',
      'brokerId = 0',
      'deleteWhen = 04',
      'fileReservedTime = 48',
      'brokerRole = ASYNC_MASTER',
      'flushDiskType = ASYNC_FLUSH',
      '',
    ].join('\n');
    assert.deepEqual(parsed(text), {
      brokerClusterName: 'DefaultCluster', brokerName: 'broker-a', brokerId: '0', deleteWhen: '04', fileReservedTime: '48',
      brokerRole: 'ASYNC_MASTER', flushDiskType: 'ASYNC_FLUSH',
    });
  });

  it('empty input gives no properties', () => {
    assert.equal(parseJavaProperties('').size, 0);
    assert.equal(parseJavaProperties('\n\n# only comments\n').size, 0);
  });

  it('a continuation backslash on the last line of a file without a final newline is dropped (Java LineReader at EOF)', () => {
    assert.deepEqual(parsed('a=b\\'), { a: 'b' });
  });
});
