import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectEventually, type WidgetClient } from '@parley/testing';
import { agentApi, visitorAskingForHuman } from './agents.js';
import { startPlatform, type Running } from './start.js';

/** Capacity-aware dispatch: present agents with free capacity get the oldest waiting conversation. */
let platform: Running;
beforeAll(async () => {
  platform = await startPlatform();
  const { store, hitl } = platform.app.platform;
  await store.upsertTenant({
    id: 'dispatch',
    name: 'Dispatching tenant',
    widgetKey: 'pk_dispatch',
    allowedOrigins: [platform.origin],
  });
  await hitl.stores.hitlSettings.setStrategy('dispatch', 'skills');
  for (const [id, skills] of [
    ['amy', []],
    ['bob', ['billing']],
  ] as const) {
    await hitl.stores.agents.upsertAgent({
      tenantId: 'dispatch',
      id,
      email: `${id}@dispatch.test`,
      name: id === 'amy' ? 'Amy' : 'Bob',
      password: `${id}-password`,
      maxConcurrent: 1,
      skills: [...skills],
    });
    await hitl.stores.agents.touchAgent('dispatch', id);
  }
});
afterAll(() => platform?.close());

const askForHuman = () => visitorAskingForHuman(platform, { widgetKey: 'pk_dispatch' });

const joined = (v: WidgetClient) =>
  v.waitFor((f) => f.type === 'message' && f.role === 'system' && /joined/.test(String(f.text)), {
    timeoutMs: 5_000,
  });

describe('capacity-aware dispatch (embedded)', () => {
  it('gives waiting conversations to present agents up to their capacity, oldest first, and routes a queue to the agents with that skill', async () => {
    const { handoffs } = platform.app.platform.hitl.stores;
    const first = await askForHuman();
    const second = await askForHuman();
    const names = [(await joined(first)).text, (await joined(second)).text].sort();
    expect(names).toEqual(['Amy joined the conversation.', 'Bob joined the conversation.']);

    // Both agents are full: the third waits, first in line.
    const third = await askForHuman();
    expect(await third.waitFor((f) => f.type === 'queue')).toMatchObject({ position: 1 });
    expect(third.frames.some((f) => f.role === 'system')).toBe(false);

    // Agents see each other's presence and load (the console's transfer list).
    const roster = await agentApi(platform).call('/v1/agent/agents', {
      token: await signIn('bob'),
    });
    expect(roster.body.agents).toEqual([
      expect.objectContaining({ id: 'amy', present: true, held: 1, maxConcurrent: 1 }),
      expect.objectContaining({ id: 'bob', present: true, held: 1, skills: ['billing'] }),
    ]);

    // Amy's conversation closes: her freed capacity goes to the oldest waiting one.
    const amysOpen = (await handoffs.assignedTo('dispatch', 'amy'))[0]!;
    const token = await signIn('amy');
    await post(`/v1/agent/handoffs/${amysOpen.id}/close`, token);
    expect((await joined(third)).text).toBe('Amy joined the conversation.');

    // A conversation moved to the billing queue waits for Bob, the only one with that skill.
    const thirdHandoff = (await handoffs.openFor('dispatch', third.session.conversationId))!;
    await post(`/v1/agent/handoffs/${thirdHandoff.id}/transfer`, token, { toQueue: 'billing' });
    const moved = await handoffs.handoff('dispatch', thirdHandoff.id);
    expect(moved).toMatchObject({ status: 'queued', queue: 'billing' });
    const bobsOpen = (await handoffs.assignedTo('dispatch', 'bob'))[0]!;
    await post(`/v1/agent/handoffs/${bobsOpen.id}/close`, await signIn('bob'));
    await expectEventually(async () =>
      expect(await handoffs.handoff('dispatch', thirdHandoff.id)).toMatchObject({
        status: 'assigned',
        agentId: 'bob',
      }),
    );
    for (const v of [first, second, third]) v.close();
  });
});

const signIn = (id: string) =>
  agentApi(platform).signIn('dispatch', `${id}@dispatch.test`, `${id}-password`);

async function post(path: string, token: string, body: unknown = {}): Promise<void> {
  expect((await agentApi(platform).call(path, { token, body })).status).toBe(200);
}

describe('round-robin dispatch (embedded)', () => {
  it('takes turns between present agents, whatever their load', async () => {
    const { store, hitl } = platform.app.platform;
    await store.upsertTenant({
      id: 'turns',
      name: 'Round robin',
      widgetKey: 'pk_turns',
      allowedOrigins: [platform.origin],
    });
    await hitl.stores.hitlSettings.setStrategy('turns', 'round_robin');
    for (const id of ['cat', 'dan']) {
      await hitl.stores.agents.upsertAgent({
        tenantId: 'turns',
        id,
        email: `${id}@turns.test`,
        name: id,
        password: `${id}-password`,
        maxConcurrent: 5,
      });
      await hitl.stores.agents.touchAgent('turns', id);
    }
    const holders: string[] = [];
    for (let i = 0; i < 4; i++) {
      const visitor = await visitorAskingForHuman(platform, { widgetKey: 'pk_turns' });
      const joinedMessage = await joined(visitor);
      holders.push(String(joinedMessage.text).split(' ')[0]!);
      visitor.close();
    }
    expect(holders).toEqual(['cat', 'dan', 'cat', 'dan']);
  });
});
