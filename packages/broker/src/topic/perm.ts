/** PermName bits: a topic's or broker's permission. */
export const Perm = { PRIORITY: 8, READ: 4, WRITE: 2, INHERIT: 1 } as const;

export function isReadable(perm: number): boolean {
  return (perm & Perm.READ) !== 0;
}

export function isWriteable(perm: number): boolean {
  return (perm & Perm.WRITE) !== 0;
}
