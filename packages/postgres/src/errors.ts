/**
 * Error codes of a Postgres server that is not there: the network's, and the
 * server's own while it shuts down, crashes or starts. Shared by the router
 * (a write that failed this way moves on to look for the primary) and by
 * `parley-dr failover` (a node that failed this way counts as down).
 */
export const UNREACHABLE_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
  '57P01', // admin shutdown
  '57P02', // crash shutdown
  '57P03', // cannot connect now (starting, recovering, shutting down)
]);

/** The above, and the SQLSTATE class 08 failures of a connection. */
const CONNECTION_CODES: ReadonlySet<string> = new Set([
  ...UNREACHABLE_CODES,
  '08006',
  '08001',
  '08004',
]);

/** Whether a query or connect failed because the connection did (not the statement). */
export function isConnectionError(err: unknown): boolean {
  const code = (err as { code?: string }).code;
  if (code && CONNECTION_CODES.has(code)) return true;
  return (
    err instanceof Error &&
    /timeout exceeded when trying to connect|Connection terminated|Query read timeout/i.test(
      err.message,
    )
  );
}
