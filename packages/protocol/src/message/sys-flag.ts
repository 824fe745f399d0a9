/** MessageSysFlag bits (common/.../sysflag/MessageSysFlag.java). */
export const MessageSysFlag = {
  COMPRESSED: 0x1,
  MULTI_TAGS: 0x2,
  TRANSACTION_NOT_TYPE: 0,
  TRANSACTION_PREPARED_TYPE: 0x1 << 2,
  TRANSACTION_COMMIT_TYPE: 0x2 << 2,
  TRANSACTION_ROLLBACK_TYPE: 0x3 << 2,
  BORNHOST_V6: 0x1 << 4,
  STOREHOSTADDRESS_V6: 0x1 << 5,
  NEED_UNWRAP: 0x1 << 6,
  INNER_BATCH: 0x1 << 7,
} as const;

export function transactionType(sysFlag: number): number {
  return sysFlag & MessageSysFlag.TRANSACTION_ROLLBACK_TYPE;
}
