import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { requireOperator } from '@parley/service-kit';
import type { WindowBreaker, BreakerSnapshot } from '@parley/resilience';
import type { DegradationStatus } from '../domain/degradation.js';
import { AI_ERROR_PREFIX, aiError } from '../errors.js';
import type { HealthRecord, ProviderHealth } from '../router/provider-health.js';

const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/*
 * For the OpenAPI document only: these routes check their input themselves
 * (AI_ERR_UNKNOWN_PROVIDER, AI_ERR_BAD_LOG_LEVEL) and the schemas say what they accept.
 */
const providerStatus = z.object({
  healthy: z.boolean(),
  cooldownUntil: z.string().nullable().describe('Skipped until then after failures'),
  unhealthyUntil: z.number().describe('ms since epoch; 0 when healthy'),
  probeSuccesses: z.number().int(),
  reason: z.string().optional(),
  breaker: z
    .object({
      state: z.enum(['closed', 'open', 'half_open']),
      recentFailures: z.number().int(),
      openUntil: z.number().optional(),
      probeSuccesses: z.number().int(),
    })
    .optional()
    .describe("This replica's circuit breaker"),
});
const systemStatus = z.object({
  providers: z.record(z.string(), providerStatus),
  degradation: z
    .object({
      level: z.string().describe('L0 (normal) to L5'),
      reasons: z.array(z.string()),
      models: z.object({
        attempts: z.number().int(),
        failures: z.number().int(),
        medianMs: z.number().nullable(),
        down: z.boolean(),
      }),
      systems: z.object({ knowledge: z.boolean(), backend: z.boolean(), humans: z.boolean() }),
    })
    .optional(),
  answering: z.enum(['models', 'fallback', 'offline-faq']),
});
const forceRecoveryBody = z
  .object({ provider: z.string().optional().describe('One provider; all when absent') })
  .optional();
const levelParams = z.object({ level: z.enum(LEVELS) });

/** Options for {@link adminRoutes}. */
export interface AdminRoutesOptions {
  /** Operators' bearer token; empty turns the admin API off (every call 404s). */
  token: string;
  /** The LLM providers the router uses, by name. */
  providers: string[];
  health?: ProviderHealth;
  /** This replica's breaker per provider. */
  breakers?: ReadonlyMap<string, WindowBreaker>;
  /** The degradation level and why. */
  degradation?: () => DegradationStatus;
  /** Changes the process's log level (pino's `level`). */
  setLogLevel(level: (typeof LEVELS)[number]): void;
}

/**
 * Operator endpoints, authenticated with a bearer token and audited (every
 * call, allowed or refused, is logged with `audit: true`, the action and the
 * caller's address; never the token):
 * `GET /admin/system-status`, `POST /admin/reset-circuits`,
 * `POST /admin/force-recovery` (one provider or all), `PUT /admin/log-level/:level`.
 */
export async function adminRoutes(
  app: FastifyInstance,
  options: AdminRoutesOptions,
): Promise<void> {
  requireOperator(app, { token: options.token, codePrefix: AI_ERROR_PREFIX });

  const records = async () => {
    const out: Record<
      string,
      HealthRecord & { healthy: boolean; cooldownUntil: string | null; breaker?: BreakerSnapshot }
    > = {};
    for (const name of options.providers) {
      const record = (await options.health?.get(name)) ?? { unhealthyUntil: 0, probeSuccesses: 0 };
      const breaker = options.breakers?.get(name)?.snapshot();
      out[name] = {
        ...record,
        healthy: record.unhealthyUntil <= Date.now() && breaker?.state !== 'open',
        cooldownUntil:
          record.unhealthyUntil > Date.now() ? new Date(record.unhealthyUntil).toISOString() : null,
        ...(breaker ? { breaker } : {}),
      };
    }
    return out;
  };

  app.get(
    '/admin/system-status',
    {
      schema: {
        summary: 'The providers, their breakers and cooldowns, and the degradation level',
        response: { 200: systemStatus },
      },
    },
    async () => {
      const providers = await records();
      const healthy = Object.values(providers).filter((p) => p.healthy).length;
      return {
        providers,
        ...(options.degradation ? { degradation: options.degradation() } : {}),
        answering:
          options.providers.length === 0 ? 'offline-faq' : healthy > 0 ? 'models' : 'fallback',
      };
    },
  );

  app.post(
    '/admin/reset-circuits',
    {
      schema: {
        summary: "Closes every provider's circuit and ends its cooldown",
        response: { 200: z.object({ reset: z.array(z.string()) }) },
      },
    },
    async () => {
      for (const name of options.providers) {
        await options.health?.restore(name);
        options.breakers?.get(name)?.reset();
      }
      return { reset: options.providers };
    },
  );

  app.post<{ Body: { provider?: string } | undefined }>(
    '/admin/force-recovery',
    {
      schema: {
        summary: 'Marks one provider (or all) healthy again',
        body: forceRecoveryBody,
        response: { 200: z.object({ recovered: z.array(z.string()) }) },
      },
    },
    async (request) => {
      const wanted = request.body?.provider;
      if (wanted !== undefined && !options.providers.includes(wanted))
        throw aiError(
          'AI_ERR_UNKNOWN_PROVIDER',
          `No provider named ${JSON.stringify(wanted).slice(0, 40)}`,
        );
      const targets = wanted ? [wanted] : options.providers;
      for (const name of targets) {
        await options.health?.restore(name);
        options.breakers?.get(name)?.reset();
      }
      return { recovered: targets };
    },
  );

  app.put<{ Params: { level: string } }>(
    '/admin/log-level/:level',
    {
      schema: {
        summary: "Changes the process's log level",
        params: levelParams,
        response: { 200: levelParams },
      },
    },
    async (request) => {
      const level = request.params.level as (typeof LEVELS)[number];
      if (!LEVELS.includes(level))
        throw aiError('AI_ERR_BAD_LOG_LEVEL', `level must be one of ${LEVELS.join(', ')}`);
      options.setLogLevel(level);
      return { level };
    },
  );
}
