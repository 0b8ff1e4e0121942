import type { FastifyInstance } from 'fastify';
import { Gauge } from 'prom-client';
import { createApp } from '@parley/service-kit';
import type { ServiceDeps } from '@parley/service-kit/launch';
import { redisPlugin } from '@parley/redis';
import { kafkaPlugin } from '@parley/kafka';
import { parseNumbers, type Config } from './config.js';
import { CallRegistry } from './domain/calls.js';
import { twilioRoutes } from './routes/twilio.route.js';
import { mediaStreams } from './ws/media-stream.js';

/**
 * The voice service: phone calls. Twilio's webhook answers a call with a
 * media stream to this service, which carries the call over Twilio's Media
 * Streams protocol. (The speech pipeline, recognition to answer to
 * synthesis, is built on these in the voice issue's next steps.)
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
  if (config.twilioAuthToken) {
    if (!config.publicUrl)
      throw new Error('TWILIO_AUTH_TOKEN needs VOICE_PUBLIC_URL (the address Twilio calls)');
    await app.register(twilioRoutes, {
      authToken: config.twilioAuthToken,
      publicUrl: config.publicUrl.replace(/\/$/, ''),
      numbers: parseNumbers(config.numbers),
      calls,
    });
  }
  // Drain first (preClose hooks run in order): no new call once shutdown starts, and
  // active calls may finish within the deadline; then the streams still open are closed.
  app.addHook('preClose', async () => {
    const finished = await calls.drain(Math.max(0, config.shutdownDeadlineMs - 2_000));
    if (!finished)
      deps.logger.warn({ calls: calls.size }, 'Calls still active at the drain deadline');
  });
  mediaStreams(app, { calls, logger: deps.logger.child({ component: 'media-stream' }) });
  return app;
}
