import type { FastifyInstance } from 'fastify';

/** Options for {@link runService}. */
export interface RunOptions {
  host: string;
  port: number;
  /** Longest a shutdown may take before the process gives up on draining. */
  shutdownDeadlineMs: number;
  /** Signals that start a graceful shutdown. @default ['SIGTERM', 'SIGINT'] */
  signals?: NodeJS.Signals[];
}

/** How a shutdown ended: `clean` when everything drained within the deadline. */
export type ShutdownOutcome = 'clean' | 'deadline' | 'error';

/**
 * Closes the app within `deadlineMs`: readiness turns to draining, the server
 * stops accepting, in-flight requests finish, then every plugin's `onClose`
 * runs (consumers stop and commit before pools close, as plugins close in the
 * reverse order of registration).
 */
export async function shutdown(app: FastifyInstance, deadlineMs: number): Promise<ShutdownOutcome> {
  app.readiness.startDraining();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<ShutdownOutcome>((resolve) => {
    timer = setTimeout(() => resolve('deadline'), deadlineMs);
  });
  try {
    return await Promise.race([app.close().then(() => 'clean' as const), deadline]);
  } catch (err) {
    app.log.error({ err }, 'Shutdown failed');
    return 'error';
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Listens, then waits for a shutdown signal and shuts down gracefully.
 * Resolves with the exit code for `main.ts` to pass to `process.exit`:
 * 0 after a clean shutdown, 1 when the deadline passed or closing failed.
 */
export async function runService(app: FastifyInstance, options: RunOptions): Promise<number> {
  await app.listen({ host: options.host, port: options.port });
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    for (const s of options.signals ?? ['SIGTERM', 'SIGINT']) process.once(s, () => resolve(s));
  });
  const started = Date.now();
  app.log.info({ signal, deadlineMs: options.shutdownDeadlineMs }, 'Shutting down');
  const outcome = await shutdown(app, options.shutdownDeadlineMs);
  const elapsedMs = Date.now() - started;
  if (outcome === 'clean') app.log.info({ elapsedMs }, 'Shutdown complete');
  else app.log.error({ outcome, elapsedMs }, 'Shutdown did not complete cleanly');
  return outcome === 'clean' ? 0 : 1;
}
