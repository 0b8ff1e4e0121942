import { expect } from 'vitest';
import {
  WidgetClient,
  expectEventually,
  type Frame,
  type WidgetClientOptions,
} from '@parley/testing';
import type { Handoff } from '@parley/hitl';
import { DEMO_WIDGET_KEY } from '../src/index.js';
import type { Running } from './start.js';

/** What the agent API answers (the fields the tests read). */
export interface AgentApiBody {
  code?: string;
  token?: string;
  summary?: string;
  queued?: Array<{ id: string; conversationId: string; [k: string]: unknown }>;
  handoff?: Record<string, unknown>;
  messages?: Frame[];
  [field: string]: unknown;
}

/** The agents' REST API of a running embedded platform, as the console calls it. */
export function agentApi(platform: Running) {
  /** GET without a body, POST with one (unless `method` says otherwise). */
  async function call(
    path: string,
    init: {
      method?: string;
      token?: string;
      body?: unknown;
      headers?: Record<string, string>;
    } = {},
  ): Promise<{ status: number; body: AgentApiBody }> {
    const res = await fetch(`${platform.baseUrl}${path}`, {
      method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
      headers: {
        ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
        ...(init.token ? { authorization: `Bearer ${init.token}` } : {}),
        ...init.headers,
      },
      ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
    });
    return { status: res.status, body: (await res.json()) as AgentApiBody };
  }

  /** Signs an agent in and returns its bearer token. */
  async function signIn(tenantId: string, email: string, password: string): Promise<string> {
    const { status, body } = await call('/v1/agent/sessions', {
      body: { tenantId, email, password },
    });
    expect(status).toBe(201);
    return body.token!;
  }

  return { call, signIn };
}

/** A visitor who asked for a person, once the widget shows the handoff waiting. */
export async function visitorAskingForHuman(
  platform: Running,
  {
    widgetKey = DEMO_WIDGET_KEY,
    text = 'I want to talk to a human',
    ...session
  }: { widgetKey?: string; text?: string } & Partial<
    Pick<WidgetClientOptions, 'language' | 'customer'>
  > = {},
): Promise<WidgetClient> {
  const visitor = await WidgetClient.connect(platform.baseUrl, {
    widgetKey,
    origin: platform.origin,
    ...session,
  });
  visitor.send({ type: 'resume', afterSeq: 0 });
  visitor.send({ type: 'message', clientMessageId: 'h', text });
  await visitor.waitFor((f) => f.type === 'state' && f.handoff === 'waiting');
  return visitor;
}

/** The conversation's open handoff, once the hitl worker has queued it. */
export async function openHandoff(
  platform: Running,
  tenantId: string,
  conversationId: string,
): Promise<Handoff> {
  let open: Handoff | null = null;
  await expectEventually(async () => {
    open = await platform.app.platform.hitl.stores.handoffs.openFor(tenantId, conversationId);
    expect(open).not.toBeNull();
  });
  return open!;
}
