import { readFile } from 'node:fs/promises';
import { request } from 'node:https';
import type { Logger } from '@parley/observability';

/** The annotation a ReplicaSet reads to pick which pods a scale-down removes (lowest first). */
export const DELETION_COST = 'controller.kubernetes.io/pod-deletion-cost';

export interface PodDeletionCostOptions {
  /** The API server, `https://<KUBERNETES_SERVICE_HOST>:<KUBERNETES_SERVICE_PORT>`. */
  apiUrl: string;
  namespace: string;
  pod: string;
  /** The ServiceAccount token, read again for every request (the kubelet rotates it). */
  tokenFile: string;
  /** The cluster's CA (PEM); absent: the system's. */
  ca?: string | Buffer;
  logger: Logger;
  /** At most one update this often. @default 2_000 */
  intervalMs?: number;
}

/**
 * Keeps this pod's `controller.kubernetes.io/pod-deletion-cost` at a value
 * (the voice service: its number of calls), so a scale-down removes the pods
 * with fewest calls first rather than cutting calls. One JSON merge patch of
 * the pod's own annotations, at most every `intervalMs`, and only when the
 * value changed since the last one the API server took. A failure is logged
 * and tried again at the next change or interval; nothing waits for it.
 *
 * Written on `node:https` rather than @kubernetes/client-node: one request,
 * and the client would bring dozens of packages into the image for it.
 */
export class PodDeletionCost {
  private wanted = 0;
  private applied: number | undefined;
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<void> | undefined;
  private last = 0;
  private closed = false;
  private readonly intervalMs: number;

  constructor(private readonly options: PodDeletionCostOptions) {
    this.intervalMs = options.intervalMs ?? 2_000;
  }

  /** The cost wanted now; applied within `intervalMs`. */
  set(cost: number): void {
    this.wanted = Math.max(-2_147_483_648, Math.min(2_147_483_647, Math.round(cost)));
    this.schedule();
  }

  private schedule(): void {
    if (this.closed || this.timer || this.wanted === this.applied) return;
    const wait = Math.max(0, this.last + this.intervalMs - Date.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.inFlight = this.apply().finally(() => {
        this.inFlight = undefined;
        this.schedule();
      });
    }, wait);
    this.timer.unref();
  }

  /** Waits for the update scheduled or under way (tests, shutdown). */
  async settled(): Promise<void> {
    while (this.timer || this.inFlight) {
      if (this.inFlight) await this.inFlight;
      else await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private async apply(): Promise<void> {
    const value = this.wanted;
    this.last = Date.now();
    const { namespace, pod, logger } = this.options;
    try {
      const token = (await readFile(this.options.tokenFile, 'utf8')).trim();
      const body = JSON.stringify({
        metadata: { annotations: { [DELETION_COST]: String(value) } },
      });
      const url = new URL(
        `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${encodeURIComponent(pod)}`,
        this.options.apiUrl,
      );
      const { status, text } = await new Promise<{ status: number; text: string }>(
        (resolve, reject) => {
          const req = request(
            url,
            {
              method: 'PATCH',
              headers: {
                authorization: `Bearer ${token}`,
                'content-type': 'application/merge-patch+json',
                accept: 'application/json',
                'content-length': Buffer.byteLength(body),
              },
              ...(this.options.ca ? { ca: this.options.ca } : {}),
              timeout: 5_000,
            },
            (res) => {
              let text = '';
              res.setEncoding('utf8');
              res.on('data', (chunk: string) => (text = (text + chunk).slice(0, 4_096)));
              res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
            },
          );
          req.on('timeout', () => req.destroy(new Error('the API server did not answer in 5 s')));
          req.on('error', reject);
          req.end(body);
        },
      );
      if (status >= 200 && status < 300) {
        this.applied = value;
        return;
      }
      // The API server's Status object names the reason (e.g. RBAC's "cannot patch resource").
      let reason = text;
      try {
        reason = (JSON.parse(text) as { message?: string }).message ?? text;
      } catch {
        // not JSON: the text as it came
      }
      logger.warn({ status, reason, cost: value }, 'The pod deletion cost was not updated');
    } catch (err) {
      logger.warn({ err, cost: value }, 'The pod deletion cost was not updated');
    }
    // Not applied: the next pass (scheduled when this one ends) tries again after the interval.
  }
}
