/**
 * Whether a `/readyz` answer says the service can do its work: a 2xx status
 * and no essential dependency down. A dependency every pod shares (the
 * Postgres primary, Kafka) leaves the pods ready, so the report's `state`
 * (`critical`) is what says the service cannot work; the AI's degradation
 * probes and region failover both read it. Consumes the body.
 */
export async function readinessServes(res: Response): Promise<boolean> {
  const text = await res.text().catch(() => '');
  if (!res.ok) return false;
  try {
    return (JSON.parse(text) as { state?: unknown }).state !== 'critical';
  } catch {
    return true; // a plain 200 (another kind of health endpoint)
  }
}
