import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { withErrorPrefix } from '@parley/service-kit';
import { ConfigError } from '@parley/config';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { EventRegistry, allEvents } from '@parley/contracts';
import type { Logger } from '@parley/observability';
import { parseNumbers, type VoiceSettings } from './config.js';
import { VOICE_ERROR_PREFIX } from './errors.js';
import { ConversationLink } from './adapters/conversation-link.js';
import { PhoneNumbers } from './adapters/phone-numbers.js';
import { PodDeletionCost } from './adapters/pod-deletion-cost.js';
import { adminRoutes } from './routes/admin.route.js';
import { CallSession, type CallObserver } from './domain/call-session.js';
import { CallRegistry } from './domain/calls.js';
import { twilioRoutes, validStreamToken } from './routes/twilio.route.js';

export { TWILIO_STREAM_PATH } from './routes/twilio.route.js';
import { speechStack } from './speech.js';
import { mediaStreams } from './ws/media-stream.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** The calls on this process (for the one-process host and tests). */
    voice: Voice;
  }
}

const SERVICE_ACCOUNT = '/var/run/secrets/kubernetes.io/serviceaccount';

/** Options for {@link voiceModule}. */
export interface VoiceModuleOptions {
  settings: VoiceSettings;
  /** The pod's ServiceAccount token and CA (`podDeletionCost`). @default Kubernetes' mount, /var/run/secrets/kubernetes.io/serviceaccount */
  serviceAccountDir?: string;
}

/** What {@link voiceModule} decorates the app with, as `app.voice`. */
export interface Voice {
  /** Calls in progress on this process. */
  readonly calls: number;
  /** Each call in progress: its tenant and conversation. */
  active(): Array<{ callSid: string; tenantId: string; conversationId: string | undefined }>;
}

/**
 * Phone calls: Twilio's webhook answers a call with a media
 * stream to this process; each call's pipeline (voice activity, recognition,
 * the conversation, synthesis, barge-in, keys) runs in `CallSession`, and
 * the caller's words join the same conversation events as the widget's. The
 * same code serves the voice service and the embedded mode. Without
 * `TWILIO_AUTH_TOKEN` telephony is off (the metric stays, at 0).
 */
async function voice(
  app: FastifyInstance,
  { settings: config, serviceAccountDir = SERVICE_ACCOUNT }: VoiceModuleOptions,
): Promise<void> {
  const options = { bus: app.ports.bus, cache: app.ports.cache, db: app.ports.db };
  const deps = { logger: app.logger, metrics: app.metrics };
  const calls = new CallRegistry(config.maxCalls);
  new Gauge({
    name: 'concurrent_calls',
    help: 'Phone calls this process is carrying (the voice HPA metric)',
    registers: [deps.metrics],
    collect() {
      this.set(calls.size);
    },
  });
  const observer = callMetrics(deps.metrics);
  const handle: Voice = {
    get calls() {
      return calls.size;
    },
    active: () =>
      calls.list().map((c) => ({
        callSid: c.callSid,
        tenantId: c.tenantId,
        conversationId: c.conversationId,
      })),
  };
  app.decorate('voice', handle);
  const phoneNumbers = new PhoneNumbers(options.db);
  // The routes answer fastify's refusals as VOICE_ERR_* in both modes (the embedded root is `GW`).
  await withErrorPrefix(app, VOICE_ERROR_PREFIX, async (scope) => {
    await scope.register(adminRoutes, { token: config.adminToken, numbers: phoneNumbers });
  });
  if (!config.twilioAuthToken) {
    deps.logger.info('TWILIO_AUTH_TOKEN is not set: telephony is off');
    return;
  }
  if (!config.publicUrl)
    throw new Error('TWILIO_AUTH_TOKEN needs VOICE_PUBLIC_URL (the address Twilio calls)');
  if (config.publicUrl.startsWith('http:') && !config.allowHttpPublicUrl)
    throw new ConfigError([
      {
        variable: 'VOICE_PUBLIC_URL',
        expected:
          'an https:// address (Twilio calls https:// webhooks and wss:// streams only; ' +
          'VOICE_ALLOW_HTTP_PUBLIC_URL=true accepts http:// for local development)',
        received: config.publicUrl,
      },
    ]);
  if (config.podDeletionCost) {
    const cost = podDeletionCost(config, serviceAccountDir, deps.logger);
    calls.onChange((size) => cost.set(size));
    app.addHook('onClose', () => cost.close());
  }
  const speech = speechStack(config, deps.metrics, deps.logger);
  app.addHook('onClose', () => speech.close());
  const authToken = config.twilioAuthToken;
  const configured = parseNumbers(config.numbers);
  await withErrorPrefix(app, VOICE_ERROR_PREFIX, async (scope) => {
    await scope.register(twilioRoutes, {
      authToken,
      publicUrl: config.publicUrl.replace(/\/$/, ''),
      tenantOf: async (number) => configured.get(number) ?? (await phoneNumbers.tenantOf(number)),
      calls,
    });
  });
  // Drain first (preClose hooks run in order): no new call once shutdown starts, and
  // active calls may finish within the deadline; then the streams still open are closed.
  // At the deadline, the calls still going are told and put in the callback queue.
  const sessions = new Set<CallSession>();
  app.addHook('preClose', async () => {
    const finished = await calls.drain(Math.max(0, config.shutdownDeadlineMs - 4_000));
    if (finished) return;
    deps.logger.warn({ calls: calls.size }, 'Calls still active at the drain deadline: callbacks');
    await Promise.all([...sessions].map((s) => s.evict(2_500)));
  });
  const registry = new EventRegistry(allEvents);
  const logger = deps.logger.child({ component: 'call' });
  mediaStreams(app, {
    calls,
    logger: deps.logger.child({ component: 'media-stream' }),
    authenticate: (call) => validStreamToken(authToken, call),
    answer(call, channel) {
      const link = new ConversationLink(
        { bus: options.bus, cache: options.cache, registry, logger },
        { tenantId: call.tenantId, callerNumber: call.from, language: config.language },
        authToken,
      );
      call.conversationId = link.conversationId;
      const callLogger = logger.child({
        callSid: call.callSid,
        conversationId: link.conversationId,
      });
      const session = new CallSession(
        {
          language: config.language,
          greeting: config.greeting,
          ...(config.recognitionHints ? { prompt: config.recognitionHints } : {}),
          vad: { endSilenceMs: config.endSilenceMs, pauseMs: config.speculateAfterMs },
          noInputMs: config.noInputMs,
        },
        {
          transcriber: speech.transcriber,
          synthesizer: speech.synthesizer,
          out: channel,
          conversation: link,
          observer,
          logger: callLogger,
          callerNumber: call.from,
        },
      );
      // Answers can only be heard once subscribed: greet after that (or give up after 5 s).
      const subscribed = link.open((update) => session.update(update));
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('subscription timed out')), 5_000);
      });
      Promise.race([subscribed, timeout])
        .finally(() => clearTimeout(timer))
        .then(
          () => session.start(),
          (err: unknown) => {
            callLogger.error({ err }, 'Conversation channel unavailable; ending the call');
            session.end();
            channel.hangUp();
          },
        );
      sessions.add(session);
      return {
        audio: (frame) => session.audio(frame),
        digit: (key) => session.digit(key),
        ended: () => {
          sessions.delete(session);
          session.end();
          void link.close();
        },
      };
    },
  });
}

export const voiceModule = fp(voice, { name: 'parley-voice', fastify: '5.x' });

/** The pod's deletion cost through the API server Kubernetes gives every pod. */
function podDeletionCost(
  config: VoiceSettings,
  serviceAccountDir: string,
  logger: Logger,
): PodDeletionCost {
  const { podName, podNamespace, kubernetesHost, kubernetesPort } = config;
  if (!podName || !podNamespace || !kubernetesHost)
    throw new Error(
      'VOICE_POD_DELETION_COST needs POD_NAME and POD_NAMESPACE (the downward API) in a Kubernetes pod (KUBERNETES_SERVICE_HOST)',
    );
  const host = kubernetesHost.includes(':') ? `[${kubernetesHost}]` : kubernetesHost;
  return new PodDeletionCost({
    apiUrl: `https://${host}:${kubernetesPort}`,
    namespace: podNamespace,
    pod: podName,
    tokenFile: `${serviceAccountDir}/token`,
    ca: readFileSync(`${serviceAccountDir}/ca.crt`),
    logger: logger.child({ component: 'pod-deletion-cost' }),
  });
}

function callMetrics(registry: Registry): CallObserver {
  const turn = new Histogram({
    name: 'voice_turn_latency_seconds',
    help: "From the end of the caller's speech to the first audio of the answer",
    buckets: [0.25, 0.5, 0.75, 1, 1.25, 1.5, 2, 2.5, 3, 4, 6, 10],
    registers: [registry],
  });
  const bargeIns = new Counter({
    name: 'voice_barge_ins_total',
    help: 'Caller speech during playback, once each by outcome: turn, false (no words: resumed), deadline (resumed before recognition decided), not_heard',
    labelNames: ['outcome'],
    registers: [registry],
  });
  return {
    turnLatency: (seconds) => turn.observe(seconds),
    bargeIn: (outcome) => bargeIns.inc({ outcome }),
  };
}
