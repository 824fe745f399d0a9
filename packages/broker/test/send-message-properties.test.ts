import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { decodeProperties } from '@tern/protocol';
import { storedProperties } from '../src/processors/send-message.js';

const NV = '\u0001';
const SEP = '\u0002';

function props(...pairs: Array<[string, string]>): string {
  return pairs.map(([name, value]) => name + NV + value).join(SEP);
}

describe('storedProperties', () => {
  it('appends CLUSTER to empty properties', () => {
    assert.equal(storedProperties('', 'DefaultCluster'), props(['CLUSTER', 'DefaultCluster']));
  });

  it('appends CLUSTER after the producer\'s properties, keeping their order', () => {
    const input = props(['TAGS', 'TagA'], ['KEYS', 'k1 k2'], ['UNIQ_KEY', 'ABC'], ['A', '1']);
    assert.equal(storedProperties(input, 'C1'), input + SEP + props(['CLUSTER', 'C1']));
  });

  it('removes WAIT wherever it is', () => {
    assert.equal(storedProperties(props(['WAIT', 'true'], ['TAGS', 'A']), 'C'), props(['TAGS', 'A'], ['CLUSTER', 'C']));
    assert.equal(storedProperties(props(['TAGS', 'A'], ['WAIT', 'false'], ['KEYS', 'k']), 'C'),
      props(['TAGS', 'A'], ['KEYS', 'k'], ['CLUSTER', 'C']));
    assert.equal(storedProperties(props(['TAGS', 'A'], ['WAIT', 'true']), 'C'), props(['TAGS', 'A'], ['CLUSTER', 'C']));
    assert.equal(storedProperties(props(['WAIT', 'true']), 'C'), props(['CLUSTER', 'C']));
  });

  it('replaces an existing CLUSTER with this broker\'s, at the end', () => {
    assert.equal(storedProperties(props(['CLUSTER', 'other'], ['TAGS', 'A']), 'Mine'), props(['TAGS', 'A'], ['CLUSTER', 'Mine']));
    assert.equal(storedProperties(props(['TAGS', 'A'], ['CLUSTER', 'x'], ['CLUSTER', 'y']), 'Mine'), props(['TAGS', 'A'], ['CLUSTER', 'Mine']));
  });

  it('keeps properties whose names only start like WAIT or CLUSTER', () => {
    const input = props(['WAITING', 'yes'], ['CLUSTERS', 'a'], ['XWAIT', 'b']);
    assert.equal(storedProperties(input, 'C'), input + SEP + props(['CLUSTER', 'C']));
  });

  it('drops empty items: trailing separator (ali-ons), doubled separators, empty names or values, no separator', () => {
    assert.equal(storedProperties(props(['TAGS', 'A']) + SEP, 'C'), props(['TAGS', 'A'], ['CLUSTER', 'C']));
    assert.equal(storedProperties(SEP + props(['TAGS', 'A']) + SEP + SEP + props(['KEYS', 'k']), 'C'),
      props(['TAGS', 'A'], ['KEYS', 'k'], ['CLUSTER', 'C']));
    assert.equal(storedProperties(props(['TAGS', ''], ['', 'v'], ['KEYS', 'k']), 'C'), props(['KEYS', 'k'], ['CLUSTER', 'C']));
    assert.equal(storedProperties('garbage' + SEP + props(['TAGS', 'A']), 'C'), props(['TAGS', 'A'], ['CLUSTER', 'C']));
    assert.equal(storedProperties(SEP + SEP, 'C'), props(['CLUSTER', 'C']));
    assert.equal(storedProperties(props(['WAIT', '']), 'C'), props(['CLUSTER', 'C']));
  });

  it('the result decodes to the same map Java would build', () => {
    const input = props(['TAGS', 'A'], ['WAIT', 'true'], ['CLUSTER', 'old'], ['DELAY', '3']) + SEP;
    const map = decodeProperties(storedProperties(input, 'New'));
    assert.deepEqual(Object.fromEntries(map), { TAGS: 'A', DELAY: '3', CLUSTER: 'New' });
    assert.ok(!storedProperties(input, 'New').endsWith(SEP), 'no trailing separator (Java 4.9 form)');
  });
});
