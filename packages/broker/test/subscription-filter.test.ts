import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SubscriptionParseError, buildTagsFilter, tagsFilterFromCodes } from '../src/processors/subscription-filter.js';

/** Java String.hashCode, written out independently of the code under test. */
function javaHash(text: string): number {
  let hash = 0;
  for (const unit of Array.from({ length: text.length }, (_, i) => text.charCodeAt(i))) {
    hash = Number(BigInt.asIntN(32, BigInt(hash) * 31n + BigInt(unit)));
  }
  return hash;
}

describe('buildTagsFilter', () => {
  it('"*", "", undefined and blanks match everything (null filter)', () => {
    assert.equal(buildTagsFilter('*', undefined), null);
    assert.equal(buildTagsFilter('', undefined), null);
    assert.equal(buildTagsFilter(undefined, undefined), null);
    assert.equal(buildTagsFilter('  *  ', 'TAG'), null);
    assert.equal(buildTagsFilter('   ', ''), null);
  });

  it('the test\'s hash agrees with Java on known values', () => {
    assert.equal(javaHash('TagA'), 2598919);
    assert.equal(javaHash('TagB'), 2598920);
    assert.equal(javaHash(''), 0);
    // Overflowing: "polygenelubricants".hashCode() == Integer.MIN_VALUE.
    assert.equal(javaHash('polygenelubricants'), -2147483648);
  });

  it('"TagA || TagB" matches exactly the Java hash codes of both tags', () => {
    const filter = buildTagsFilter('TagA || TagB', undefined);
    assert.ok(filter);
    assert.equal(filter(javaHash('TagA')), true);
    assert.equal(filter(2598919), true);
    assert.equal(filter(javaHash('TagB')), true);
    assert.equal(filter(javaHash('TagC')), false);
    assert.equal(filter(0), false, 'untagged messages (code 0) do not match a tag subscription');
  });

  it('a single tag', () => {
    const filter = buildTagsFilter('TagA', 'TAG')!;
    assert.equal(filter(javaHash('TagA')), true);
    assert.equal(filter(javaHash('TagB')), false);
  });

  it('trims whitespace around the expression and each tag, and ignores empty parts', () => {
    const filter = buildTagsFilter('  TagA||   TagB  ||  ', 'tag')!;
    assert.equal(filter(javaHash('TagA')), true);
    assert.equal(filter(javaHash('TagB')), true);
    assert.equal(filter(javaHash(' TagA')), false);
    assert.equal(filter(javaHash('')), false);
  });

  it('non-ASCII and overflowing tags use the same int32 arithmetic', () => {
    const filter = buildTagsFilter('标签 || polygenelubricants', undefined)!;
    assert.equal(filter(javaHash('标签')), true);
    assert.equal(filter(-2147483648), true);
  });

  it('an expression that names no tag is a SubscriptionParseError', () => {
    assert.throws(() => buildTagsFilter('||', undefined), SubscriptionParseError);
    assert.throws(() => buildTagsFilter(' || || ', undefined), SubscriptionParseError);
  });

  it('SQL92 (any case) and other expression types are rejected', () => {
    assert.throws(() => buildTagsFilter('a > 1', 'SQL92'), SubscriptionParseError);
    assert.throws(() => buildTagsFilter('a > 1', 'sql92'), SubscriptionParseError);
    assert.throws(() => buildTagsFilter('*', 'CLASS'), SubscriptionParseError);
  });
});

describe('tagsFilterFromCodes', () => {
  it('"*" and "" match everything', () => {
    assert.equal(tagsFilterFromCodes('*', []), null);
    assert.equal(tagsFilterFromCodes(' * ', [1]), null);
    assert.equal(tagsFilterFromCodes('', []), null);
  });

  it('matches the heartbeat\'s codeSet', () => {
    const filter = tagsFilterFromCodes('TagA || TagB', [javaHash('TagA'), javaHash('TagB')])!;
    assert.equal(filter(javaHash('TagA')), true);
    assert.equal(filter(javaHash('TagB')), true);
    assert.equal(filter(javaHash('TagC')), false);
  });
});
