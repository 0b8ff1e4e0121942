import type { Envelope } from '@parley/contracts';
import type { Logger } from '@parley/observability';
import type { EventBus } from '@parley/ports';

/** Where {@link homeRegionBus} published an event. */
export type RouteOutcome = 'home' | 'local' | 'fallback';

/** Options for {@link homeRegionBus}. */
export interface HomeRegionBusOptions {
  /** This region's bus: subscriptions, and events whose home is here or unknown. */
  local: EventBus;
  /** This region's name (PARLEY_REGION). */
  region: string;
  /** The other regions' publishers (PARLEY_REGION_KAFKA), by region. */
  remotes: ReadonlyMap<string, Pick<EventBus, 'publish'>>;
  /** The conversation's home region (where its visitor is connected), or null. */
  homeOf(tenantId: string, conversationId: string): Promise<string | null>;
  /** How long the home region's Kafka may take before the event goes to the local one. @default 3000 */
  timeoutMs?: number;
  logger: Logger;
  /** Counts each publication by region and outcome. */
  onRouted?(region: string, outcome: RouteOutcome): void;
}

/**
 * The bus hitl publishes on when regions share handoffs: an agent anywhere
 * may answer a visitor connected in another region, so each event about a
 * conversation goes to the Kafka of the conversation's home region, whose
 * chat stores it and publishes it live to the visitor's socket there, in
 * order with the visitor's own messages (docs/multi-region.md). When that
 * region does not take it in time (it is lost), the event goes to this
 * region's Kafka: the visitor, who has moved, gets it live here or on resume.
 * Published twice in that race, it is stored once (event ids are unique).
 */
export function homeRegionBus(options: HomeRegionBusOptions): EventBus {
  const { local, region, remotes, logger } = options;
  const timeoutMs = options.timeoutMs ?? 3_000;
  return {
    subscribe: (subscription) => local.subscribe(subscription),
    async publish(event: Envelope): Promise<void> {
      const home = await options
        .homeOf(event.tenant_id, event.conversation_id)
        .catch((err: unknown) => {
          logger.warn({ err }, 'Home region not read: publishing here');
          return null;
        });
      const remote = home && home !== region ? remotes.get(home) : undefined;
      if (!remote) {
        await local.publish(event);
        options.onRouted?.(region, 'local');
        return;
      }
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          remote.publish(event),
          new Promise((_, reject) => {
            timer = setTimeout(
              () => reject(new Error(`no answer from ${home}'s Kafka in ${timeoutMs} ms`)),
              timeoutMs,
            );
          }),
        ]);
        options.onRouted?.(home!, 'home');
      } catch (err) {
        logger.warn(
          { err, home, type: event.type, conversationId: event.conversation_id },
          'Home region unreachable: event published in this region',
        );
        await local.publish(event);
        options.onRouted?.(region, 'fallback');
      } finally {
        clearTimeout(timer);
      }
    },
  };
}
