import { javaStringHashCode } from '@tern/protocol';

/** A tag filter at the ConsumeQueue: null matches everything ("*"). */
export type TagsFilter = ((tagsCode: number) => boolean) | null;

export class SubscriptionParseError extends Error {}

/**
 * FilterAPI.build for TAG expressions: "" or "*" → all; otherwise tags split on "||", trimmed, each matched by its
 * Java hashCode in the ConsumeQueue (collisions pass; clients re-check the tag string).
 */
export function buildTagsFilter(subscription: string | undefined, expressionType: string | undefined): TagsFilter {
  if (expressionType !== undefined && expressionType !== '' && expressionType.toUpperCase() !== 'TAG') {
    throw new SubscriptionParseError(`expression type ${expressionType} is not supported here`);
  }
  const expression = (subscription ?? '').trim();
  if (expression === '' || expression === '*') return null;
  const codes = new Set<number>();
  for (const tag of expression.split('||')) {
    const trimmed = tag.trim();
    if (trimmed.length > 0) codes.add(javaStringHashCode(trimmed));
  }
  if (codes.size === 0) throw new SubscriptionParseError(`subscription "${expression}" names no tag`);
  return (tagsCode) => codes.has(tagsCode);
}

/** The same filter from a heartbeat's SubscriptionData codeSet. */
export function tagsFilterFromCodes(subString: string, codeSet: number[]): TagsFilter {
  if (subString.trim() === '*' || subString.trim() === '') return null;
  const codes = new Set(codeSet);
  return (tagsCode) => codes.has(tagsCode);
}
