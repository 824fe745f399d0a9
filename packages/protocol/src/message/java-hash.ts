/**
 * Java's String.hashCode over UTF-16 code units: RocketMQ stores it as the ConsumeQueue tag code and hashes index
 * keys with it, so Tern must compute exactly the same int32.
 */
export function javaStringHashCode(value: string): number {
  let hash = 0;
  for (let i = 0; i < value.length; i++) hash = (Math.imul(hash, 31) + value.charCodeAt(i)) | 0;
  return hash;
}
