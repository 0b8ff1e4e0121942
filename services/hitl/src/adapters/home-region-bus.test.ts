import { describe, expect, it } from 'vitest';
import { EventRegistry, agentRepliedV1, type Envelope } from '@parley/contracts';
import { createLogger } from '@parley/observability';
import type { EventBus } from '@parley/ports';
import { homeRegionBus, type RouteOutcome } from './home-region-bus.js';

const registry = new EventRegistry([agentRepliedV1]);
const reply = (conversationId: string) =>
  registry.create(agentRepliedV1, {
    conversationId,
    tenantId: 'acme',
    payload: {
      message_id: 'm-1',
      client_message_id: 'c-1',
      agent_id: 'agent-1',
      agent_name: 'Ana',
      text: 'Hello from eu-west',
    },
  });

/** A bus that records what it was given, or never answers (a lost region's Kafka). */
function recorder(hangs = false) {
  const got: Envelope[] = [];
  return {
    got,
    publish: (event: Envelope) =>
      hangs ? new Promise<void>(() => undefined) : (got.push(event), Promise.resolve()),
    subscribe: () => {
      throw new Error('not used');
    },
  } satisfies EventBus & { got: Envelope[] };
}

function setup(homes: Record<string, string | null | Error>, usEastHangs = false) {
  const local = recorder();
  const usEast = recorder(usEastHangs);
  const routed: Array<[string, RouteOutcome]> = [];
  const bus = homeRegionBus({
    local,
    region: 'eu-west',
    remotes: new Map([['us-east', usEast]]),
    homeOf: async (_tenant, conversationId) => {
      const home = homes[conversationId];
      if (home instanceof Error) throw home;
      return home ?? null;
    },
    timeoutMs: 50,
    logger: createLogger({ service: 'test', level: 'silent' }),
    onRouted: (region, outcome) => routed.push([region, outcome]),
  });
  return { bus, local, usEast, routed };
}

describe('homeRegionBus', () => {
  it('publishes an event to the Kafka of the region its visitor is connected to', async () => {
    const { bus, local, usEast, routed } = setup({ c1: 'us-east' });
    await bus.publish(reply('c1'));
    expect(usEast.got.map((e) => e.conversation_id)).toEqual(['c1']);
    expect(local.got).toEqual([]);
    expect(routed).toEqual([['us-east', 'home']]);
  });

  it('keeps events whose home is here, unknown, unreadable or a region it has no Kafka for', async () => {
    const { bus, local, usEast, routed } = setup({
      here: 'eu-west',
      unknown: null,
      broken: new Error('primary down'),
      elsewhere: 'ap-south',
    });
    for (const c of ['here', 'unknown', 'broken', 'elsewhere']) await bus.publish(reply(c));
    expect(local.got.map((e) => e.conversation_id)).toEqual([
      'here',
      'unknown',
      'broken',
      'elsewhere',
    ]);
    expect(usEast.got).toEqual([]);
    expect(routed.every(([region, outcome]) => region === 'eu-west' && outcome === 'local')).toBe(
      true,
    );
  });

  it('publishes here when the home region’s Kafka does not answer in time', async () => {
    const { bus, local, routed } = setup({ c1: 'us-east' }, true);
    await bus.publish(reply('c1'));
    expect(local.got.map((e) => e.conversation_id)).toEqual(['c1']);
    expect(routed).toEqual([['eu-west', 'fallback']]);
  });
});
