import type { FastifyInstance } from 'fastify';
import { Counter, Gauge, Histogram } from 'prom-client';
import { EventRegistry, allEvents } from '@parley/contracts';
import { createApp } from '@parley/service-kit';
import type { ServiceDeps } from '@parley/service-kit/launch';
import { redisPlugin } from '@parley/redis';
import { kafkaPlugin } from '@parley/kafka';
import { parseNumbers, type Config } from './config.js';
import { ConversationLink } from './adapters/conversation-link.js';
import { CallSession, type CallObserver } from './domain/call-session.js';
import { CallRegistry } from './domain/calls.js';
import { twilioRoutes, validStreamToken } from './routes/twilio.route.js';
import { speechStack } from './speech.js';
import { mediaStreams } from './ws/media-stream.js';

/**
 * The voice service: phone calls. Twilio's webhook answers a call with a
 * media stream to this service; each call's pipeline (voice activity,
 * recognition, the conversation, synthesis, barge-in, keys) runs in
 * `CallSession`, and the caller's words join the same conversation events
 * as the widget's.
 */
export async function buildApp(config: Config, deps: ServiceDeps): Promise<FastifyInstance> {
  const app = createApp({ service: 'voice', logger: deps.logger, metrics: deps.metrics });
  await app.register(redisPlugin, { url: config.redisUrl });
  await app.register(kafkaPlugin, {
    brokers: config.kafkaBrokers,
    clientId: 'voice',
    topic: config.kafkaTopic,
    consumerConcurrency: config.kafkaConsumerConcurrency,
    partitions: config.kafkaTopicPartitions,
    replicationFactor: config.kafkaReplicationFactor,
    minInsyncReplicas: config.kafkaMinInsyncReplicas,
  });
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
  if (!config.twilioAuthToken) {
    deps.logger.warn('TWILIO_AUTH_TOKEN is not set: telephony is off');
    return app;
  }
  if (!config.publicUrl)
    throw new Error('TWILIO_AUTH_TOKEN needs VOICE_PUBLIC_URL (the address Twilio calls)');
  const speech = speechStack(config, deps.metrics, deps.logger);
  app.addHook('onClose', () => speech.close());
  const authToken = config.twilioAuthToken;
  await app.register(twilioRoutes, {
    authToken,
    publicUrl: config.publicUrl.replace(/\/$/, ''),
    numbers: parseNumbers(config.numbers),
    calls,
  });
  // Drain first (preClose hooks run in order): no new call once shutdown starts, and
  // active calls may finish within the deadline; then the streams still open are closed.
  app.addHook('preClose', async () => {
    const finished = await calls.drain(Math.max(0, config.shutdownDeadlineMs - 2_000));
    if (!finished)
      deps.logger.warn({ calls: calls.size }, 'Calls still active at the drain deadline');
  });
  const registry = new EventRegistry(allEvents);
  const logger = deps.logger.child({ component: 'call' });
  mediaStreams(app, {
    calls,
    logger: deps.logger.child({ component: 'media-stream' }),
    authenticate: (call) => validStreamToken(authToken, call),
    answer(call, channel) {
      const link = new ConversationLink(
        { bus: app.kafka.bus, cache: app.cache, registry, logger },
        { tenantId: call.tenantId, callerNumber: call.from, language: config.language },
      );
      const callLogger = logger.child({
        callSid: call.callSid,
        conversationId: link.conversationId,
      });
      const session = new CallSession(
        {
          language: config.language,
          greeting: config.greeting,
          ...(config.recognitionHints ? { prompt: config.recognitionHints } : {}),
          vad: { endSilenceMs: config.endSilenceMs },
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
      // Answers can only be heard once subscribed: greet after that.
      void link
        .open((update) => session.update(update))
        .then(
          () => session.start(),
          (err: unknown) => {
            callLogger.error({ err }, 'Conversation channel unavailable; ending the call');
            channel.hangUp();
          },
        );
      return {
        audio: (frame) => session.audio(frame),
        digit: (key) => session.digit(key),
        ended: () => {
          session.end();
          void link.close();
        },
      };
    },
  });
  return app;
}

function callMetrics(registry: ServiceDeps['metrics']): CallObserver {
  const turn = new Histogram({
    name: 'voice_turn_latency_seconds',
    help: "From the end of the caller's speech to the first audio of the answer",
    buckets: [0.25, 0.5, 0.75, 1, 1.25, 1.5, 2, 2.5, 3, 4, 6, 10],
    registers: [registry],
  });
  const bargeIns = new Counter({
    name: 'voice_barge_ins_total',
    help: 'Caller speech during playback: a new turn, or no words (the reply resumed)',
    labelNames: ['outcome'],
    registers: [registry],
  });
  return {
    turnLatency: (seconds) => turn.observe(seconds),
    bargeIn: (outcome) => bargeIns.inc({ outcome }),
  };
}
