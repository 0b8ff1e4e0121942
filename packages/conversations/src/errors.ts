/** Stable codes of the store's errors. */
export type StoreErrorCode =
  | 'STORE_ERR_UNKNOWN_TENANT'
  | 'STORE_ERR_CONVERSATION_OWNER'
  | 'STORE_ERR_INVALID'
  | 'STORE_ERR_INVALID_SETTINGS'
  | 'STORE_ERR_INVALID_TENANT_ID'
  | 'STORE_ERR_NOT_HANDLER'
  | 'STORE_ERR_TENANT_EXISTS'
  | 'STORE_ERR_TENANT_DELETED';

/** An error of the conversation store, with a stable code. */
export class StoreError extends Error {
  override readonly name = 'StoreError';
  constructor(
    readonly code: StoreErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** True for a {@link StoreError} (optionally with this code), also across package copies. */
export function isStoreError(err: unknown, code?: StoreErrorCode): err is StoreError {
  return (
    err instanceof Error &&
    err.name === 'StoreError' &&
    typeof (err as StoreError).code === 'string' &&
    (code === undefined || (err as StoreError).code === code)
  );
}
