import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_AGENT } from '../src/index.js';
import { agentApi } from './agents.js';
import { startPlatform, type Running } from './start.js';

/** The console's event stream: one-use tickets in the URL, a few streams per agent. */
let platform: Running;
let token: string;
const open: AbortController[] = [];
beforeAll(async () => {
  platform = await startPlatform();
  token = await agentApi(platform).signIn('demo', DEMO_AGENT.email, DEMO_AGENT.defaultPassword);
});
afterAll(async () => {
  for (const c of open) c.abort();
  await platform?.close();
});

const ticket = async () => {
  const { status, body } = await agentApi(platform).call('/v1/agent/events/tickets', {
    token,
    body: {},
  });
  expect(status).toBe(201);
  return body.ticket as string;
};

/** Opens the stream; resolves with its status and, when it opened, its first event. */
async function stream(query: string): Promise<{ status: number; first?: string; code?: string }> {
  const controller = new AbortController();
  const res = await fetch(`${platform.baseUrl}/v1/agent/events?${query}`, {
    signal: controller.signal,
  });
  if (res.status !== 200) {
    const body = (await res.json()) as { code: string };
    return { status: res.status, code: body.code };
  }
  open.push(controller);
  const reader = res.body!.getReader();
  const { value } = await reader.read();
  return { status: 200, first: new TextDecoder().decode(value) };
}

describe("the agents' event stream", () => {
  it('opens with a fresh ticket, and refuses the same ticket twice', async () => {
    const t = await ticket();
    expect(await stream(`ticket=${encodeURIComponent(t)}`)).toMatchObject({
      status: 200,
      first: expect.stringContaining('event: ready'),
    });
    expect(await stream(`ticket=${encodeURIComponent(t)}`)).toEqual({
      status: 401,
      code: 'HITL_ERR_UNAUTHORIZED',
    });
  });

  it('takes no agent token in the URL, and no forged ticket', async () => {
    expect((await stream(`token=${encodeURIComponent(token)}`)).status).toBe(400);
    expect((await stream(`ticket=${encodeURIComponent(token)}`)).status).toBe(401);
    expect((await stream('ticket=not-a-ticket')).status).toBe(401);
  });

  it('holds at most five streams per agent, and a closed one makes room', async () => {
    while (open.length < 5) expect((await stream(`ticket=${await ticket()}`)).status).toBe(200);
    expect(await stream(`ticket=${await ticket()}`)).toEqual({
      status: 429,
      code: 'HITL_ERR_TOO_MANY_STREAMS',
    });
    open.shift()!.abort();
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect((await stream(`ticket=${await ticket()}`)).status).toBe(200);
  });
});
