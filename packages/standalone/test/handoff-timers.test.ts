import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectEventually, type WidgetClient } from '@parley/testing';
import { DEMO_AGENT } from '../src/index.js';
import { agentApi, openHandoff, visitorAskingForHuman } from './agents.js';
import { startPlatform, type Running } from './start.js';

/** Handoff timers and transfers, with timers short enough to watch. */
let platform: Running;
beforeAll(async () => {
  platform = await startPlatform({
    HITL_AGENT_REPLY_TIMEOUT_MS: '1000',
    HITL_SLA_MS: '1000',
    HITL_SWEEP_INTERVAL_MS: '200',
  });
  await platform.app.platform.hitl.stores.agents.upsertAgent({
    tenantId: 'demo',
    id: 'sam',
    email: 'sam@parley.demo',
    name: 'Sam',
    password: 'sam-password',
  });
});
afterAll(() => platform?.close());

const call = (path: string, token: string, body?: unknown) =>
  agentApi(platform).call(path, { token, body });
const signIn = (email: string, password: string) =>
  agentApi(platform).signIn('demo', email, password);
/** `hitl_escalations_total{kind}` on the platform's /metrics. */
async function escalations(kind: 'sla_breached' | 'no_agent_reply'): Promise<number> {
  const text = await (await fetch(`${platform.baseUrl}/metrics`)).text();
  const line = new RegExp(`^hitl_escalations_total\\{[^}]*kind="${kind}"[^}]*\\} (\\d+)$`, 'm');
  return Number(line.exec(text)?.[1] ?? NaN);
}

async function waitingVisitor(): Promise<{ visitor: WidgetClient; handoffId: string }> {
  const visitor = await visitorAskingForHuman(platform);
  const { id } = await openHandoff(platform, 'demo', visitor.session.conversationId);
  return { visitor, handoffId: id };
}

describe('handoff timers and transfers (embedded)', () => {
  it('escalates a handoff that waits past its SLA once, moving it ahead, marked in the queue and counted', async () => {
    const before = await escalations('sla_breached');
    const { visitor, handoffId } = await waitingVisitor();
    const dana = await signIn(DEMO_AGENT.email, DEMO_AGENT.defaultPassword);
    const queued = async () =>
      (await call('/v1/agent/queue', dana)).body.queued!.find((h) => h.id === handoffId);
    await expectEventually(
      async () =>
        expect(await queued()).toMatchObject({
          priority: 50,
          escalatedAt: expect.stringMatching(/^\d{4}-/),
        }),
      { timeoutMs: 5_000 },
    );
    const first = (await queued())!.escalatedAt;
    await new Promise((r) => setTimeout(r, 500));
    // Once: later sweeps leave it as it is.
    expect(await queued()).toMatchObject({ priority: 50, escalatedAt: first });
    expect(await escalations('sla_breached')).toBeGreaterThan(before);
    visitor.close();
  });

  it('puts an accepted conversation back in the queue when its agent does not reply in time, and tells the visitor', async () => {
    const { visitor, handoffId } = await waitingVisitor();
    const dana = await signIn(DEMO_AGENT.email, DEMO_AGENT.defaultPassword);
    expect((await call(`/v1/agent/handoffs/${handoffId}/accept`, dana, {})).status).toBe(200);
    await visitor.waitFor((f) => f.type === 'state' && f.handler === 'agent');
    const before = visitor.frames.length;
    await visitor.waitFor((f) => f.type === 'message' && /being transferred/.test(String(f.text)), {
      from: before,
      timeoutMs: 5_000,
    });
    await visitor.waitFor((f) => f.type === 'state' && f.handoff === 'waiting', { from: before });
    const handoff = await platform.app.platform.hitl.stores.handoffs.handoff('demo', handoffId);
    expect(handoff).toMatchObject({ status: 'queued', agentId: null });
    expect(await escalations('no_agent_reply')).toBeGreaterThanOrEqual(1);
    visitor.close();
  });

  it('transfers a held conversation to another agent, or back to a named queue', async () => {
    const { visitor, handoffId } = await waitingVisitor();
    const dana = await signIn(DEMO_AGENT.email, DEMO_AGENT.defaultPassword);
    const sam = await signIn('sam@parley.demo', 'sam-password');
    await call(`/v1/agent/handoffs/${handoffId}/accept`, dana, {});
    // Reply at once, so the no-reply timer leaves it alone.
    await call(`/v1/agent/conversations/${visitor.session.conversationId}/messages`, dana, {
      clientMessageId: 'd1',
      text: 'Let me get my colleague.',
    });
    const toSam = await call(`/v1/agent/handoffs/${handoffId}/transfer`, dana, {
      toAgentId: 'sam',
    });
    expect(toSam.status).toBe(200);
    await visitor.waitFor((f) => f.type === 'message' && f.text === 'Sam joined the conversation.');
    // Dana no longer holds it; Sam does.
    expect(
      (
        await call(`/v1/agent/conversations/${visitor.session.conversationId}/messages`, dana, {
          clientMessageId: 'd2',
          text: 'still me?',
        })
      ).status,
    ).toBe(409);
    await call(`/v1/agent/conversations/${visitor.session.conversationId}/messages`, sam, {
      clientMessageId: 's1',
      text: 'Sam here.',
    });
    await visitor.waitFor((f) => f.type === 'message' && f.text === 'Sam here.');
    const toQueue = await call(`/v1/agent/handoffs/${handoffId}/transfer`, sam, {
      toQueue: 'billing',
    });
    expect(toQueue.body.handoff).toMatchObject({
      status: 'queued',
      queue: 'billing',
      agentId: null,
    });
    // An unknown agent, and a handoff Sam no longer holds.
    expect(
      (await call(`/v1/agent/handoffs/${handoffId}/transfer`, sam, { toAgentId: 'nobody' })).status,
    ).toBe(404);
    expect(
      (await call(`/v1/agent/handoffs/${handoffId}/transfer`, sam, { toAgentId: 'demo-agent' }))
        .body.code,
    ).toBe('HITL_ERR_NOT_YOURS');
    expect(
      (await call(`/v1/agent/handoffs/${handoffId}/transfer`, sam, { toQueue: 'Bad Queue!' }))
        .status,
    ).toBe(400);
    visitor.close();
  });
});
