/**
 * TAGS, KEYS, UNIQ_KEY and DELAY found in a stored properties byte range without decoding it: the batch put path
 * copies each member's properties as bytes and looks at them in place. Matches @tern/protocol's findKeyProperties on
 * the decoded text: items split on \u0002, the name ends at the item's first \u0001, items with an empty name or
 * value are skipped, the last match wins. (\u0001 and \u0002 never occur inside a multi-byte UTF-8 sequence, so byte
 * and character positions agree on where items and names end.)
 */
export class KeyPropertyPositions {
  /** Value ranges [start, end); start is -1 when the property is absent. */
  tagsStart = -1;
  tagsEnd = -1;
  keysStart = -1;
  keysEnd = -1;
  uniqKeyStart = -1;
  uniqKeyEnd = -1;
  delayStart = -1;
  delayEnd = -1;

  /**
   * Scans bytes[start, end), replacing what an earlier scan found; positions are in `bytes`. With `copyTo`, also
   * copies the range there from `copyAt` in the same pass (a member's properties are copied and scanned at once).
   */
  scan(bytes: Uint8Array, start: number, end: number, copyTo: Uint8Array | null = null, copyAt = 0): void {
    this.tagsStart = this.keysStart = this.uniqKeyStart = this.delayStart = -1;
    const shift = copyAt - start;
    let itemStart = start;
    while (itemStart < end) {
      let nameEnd = -1;
      let i = itemStart;
      for (; i < end; i++) {
        const b = bytes[i]!;
        if (copyTo !== null) copyTo[i + shift] = b;
        if (b === 0x02) break;
        if (b === 0x01 && nameEnd < 0) nameEnd = i;
      }
      if (nameEnd > itemStart && nameEnd < i - 1) this.match(bytes, itemStart, nameEnd, i);
      itemStart = i + 1;
    }
  }

  private match(bytes: Uint8Array, nameStart: number, nameEnd: number, valueEnd: number): void {
    const length = nameEnd - nameStart;
    const b0 = bytes[nameStart]!;
    if (length === 4) {
      if (b0 === 0x54 && bytes[nameStart + 1] === 0x41 && bytes[nameStart + 2] === 0x47 && bytes[nameStart + 3] === 0x53) { // TAGS
        this.tagsStart = nameEnd + 1;
        this.tagsEnd = valueEnd;
      } else if (b0 === 0x4b && bytes[nameStart + 1] === 0x45 && bytes[nameStart + 2] === 0x59 && bytes[nameStart + 3] === 0x53) { // KEYS
        this.keysStart = nameEnd + 1;
        this.keysEnd = valueEnd;
      }
    } else if (length === 8) {
      if (b0 === 0x55 && bytes[nameStart + 1] === 0x4e && bytes[nameStart + 2] === 0x49 && bytes[nameStart + 3] === 0x51
        && bytes[nameStart + 4] === 0x5f && bytes[nameStart + 5] === 0x4b && bytes[nameStart + 6] === 0x45 && bytes[nameStart + 7] === 0x59) { // UNIQ_KEY
        this.uniqKeyStart = nameEnd + 1;
        this.uniqKeyEnd = valueEnd;
      }
    } else if (length === 5) {
      if (b0 === 0x44 && bytes[nameStart + 1] === 0x45 && bytes[nameStart + 2] === 0x4c && bytes[nameStart + 3] === 0x41
        && bytes[nameStart + 4] === 0x59) { // DELAY
        this.delayStart = nameEnd + 1;
        this.delayEnd = valueEnd;
      }
    }
  }
}

/**
 * Java's String.hashCode continued from `hash` over the text that bytes[start, end) encode in UTF-8. ASCII bytes are
 * their own UTF-16 code units, so they are hashed in place; anything else is decoded first.
 */
export function continueJavaHash(hash: number, bytes: Buffer, start: number, end: number): number {
  let h = hash;
  let high = 0;
  for (let i = start; i < end; i++) {
    const b = bytes[i]!;
    high |= b;
    h = (Math.imul(h, 31) + b) | 0;
  }
  if (high < 0x80) return h;
  const text = bytes.toString('utf8', start, end);
  h = hash;
  for (let i = 0; i < text.length; i++) h = (Math.imul(h, 31) + text.charCodeAt(i)) | 0;
  return h;
}
