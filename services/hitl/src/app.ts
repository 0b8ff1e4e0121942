import type { FastifyInstance } from 'fastify';
import { trustedHops } from '@parley/config';
import { infrastructure } from '@parley/infrastructure';
import { RegionPublisher, kafkaSecurity } from '@parley/kafka';
import { createApp } from '@parley/service-kit';
import type { ServiceDeps } from '@parley/service-kit/launch';
import type { Config } from './config.js';
import { hitlModule } from './module.js';

/** The hitl service: {@link hitlModule} on Postgres, Redis and Kafka (and the other regions' Kafka). */
export async function buildApp(config: Config, deps: ServiceDeps): Promise<FastifyInstance> {
  const app = createApp({
    service: 'hitl',
    logger: deps.logger,
    metrics: deps.metrics,
    trustedProxyHops: trustedHops(config),
  });
  await app.register(infrastructure, { service: 'hitl', settings: config });
  // The other regions' brokers are reached with this region's TLS and SASL settings.
  const security = kafkaSecurity(config);
  const remotes = new Map(
    Object.entries(config.regionKafka)
      .filter(([region]) => region !== config.region)
      .map(([region, brokers]) => [
        region,
        new RegionPublisher({
          brokers,
          clientId: `hitl-${config.region}`,
          topic: config.kafkaTopic,
          security,
        }),
      ]),
  );
  // Connected in the background: a region that is down does not delay the start.
  app.addHook('onReady', async () => {
    for (const remote of remotes.values()) void remote.connect().catch(() => undefined);
  });
  app.addHook('onClose', async () => {
    await Promise.all([...remotes.values()].map((r) => r.close()));
  });
  await app.register(hitlModule, {
    settings: config,
    groupId: config.consumerGroup,
    regions: { region: config.region, remotes },
  });
  return app;
}
