import type { FastifyInstance } from 'fastify';

/** A long-running consumer (an event-bus subscription). */
export interface Worker {
  start(): Promise<void>;
  stop(): Promise<void>;
  readonly healthy: boolean;
}

/** Options for {@link superviseWorker}. */
export interface SuperviseOptions {
  /** The readiness check's name (`consumer:<group>`). */
  name: string;
  /** Wait before retrying a start that failed. @default 5000 */
  retryMs?: number;
}

/**
 * Runs a worker for the life of the app without holding up start-up: joining
 * a consumer group can take as long as the session timeout of a member that
 * died without leaving (a SIGKILLed pod), longer than a plugin may take to
 * start. The worker starts once the app is ready, a failed start is retried,
 * `/readyz` reports the worker down until it runs (the health monitor checks
 * again as soon as it does), and it stops on close.
 */
export function superviseWorker(
  app: FastifyInstance,
  worker: Worker,
  { name, retryMs = 5_000 }: SuperviseOptions,
): void {
  let closing = false;
  let lastError: unknown;
  let retry: NodeJS.Timeout | undefined;
  let starting: Promise<void> | undefined;

  const attempt = (): void => {
    starting = worker.start().then(
      () => {
        lastError = undefined;
        app.log.info({ worker: name }, 'Worker running');
        // The health monitor (and the status page) learn it now, not at the next interval.
        void app.health.check().catch(() => undefined);
      },
      (err: unknown) => {
        lastError = err;
        if (closing) return;
        app.log.error({ err, worker: name }, 'Worker failed to start; retrying');
        retry = setTimeout(attempt, retryMs);
        retry.unref();
      },
    );
  };

  // A consumer stops with its bus, which every pod shares: reported, not a reason to leave the Service.
  app.readiness.add(
    name,
    async () => {
      if (worker.healthy) return;
      throw new Error(
        lastError instanceof Error ? `not running: ${lastError.message}` : 'not running yet',
      );
    },
    { shared: true },
  );
  app.addHook('onReady', async () => attempt());
  app.addHook('onClose', async () => {
    closing = true;
    clearTimeout(retry);
    await starting?.catch(() => undefined);
    await worker.stop();
  });
}
