import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DEMO_AGENT } from '../src/index.js';
import { agentApi } from './agents.js';
import { startPlatform } from './start.js';

const dirs: string[] = [];
afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});
const dataDir = async () => {
  const dir = await mkdtemp(join(tmpdir(), 'parley-demo-agent-'));
  dirs.push(dir);
  return dir;
};

describe('the demo agent', () => {
  it('is created once: a new password or a disabled agent survives a restart', async () => {
    const dir = await dataDir();
    const first = await startPlatform({ PARLEY_DATA_DIR: dir });
    try {
      const dana = await agentApi(first).signIn(
        'demo',
        DEMO_AGENT.email,
        DEMO_AGENT.defaultPassword,
      );
      expect(dana).toBeTruthy();
      await first.app.platform.hitl.stores.agents.upsertAgent({
        tenantId: 'demo',
        id: DEMO_AGENT.id,
        email: DEMO_AGENT.email,
        name: DEMO_AGENT.name,
        password: 'a-password-of-our-own',
      });
    } finally {
      await first.close();
    }
    const second = await startPlatform({ PARLEY_DATA_DIR: dir });
    try {
      const api = agentApi(second);
      const old = await api.call('/v1/agent/sessions', {
        body: { tenantId: 'demo', email: DEMO_AGENT.email, password: DEMO_AGENT.defaultPassword },
      });
      expect([old.status, old.body.code]).toEqual([401, 'HITL_ERR_BAD_CREDENTIALS']);
      expect(await api.signIn('demo', DEMO_AGENT.email, 'a-password-of-our-own')).toBeTruthy();
      await second.app.platform.hitl.stores.agents.disableAgent('demo', DEMO_AGENT.id);
    } finally {
      await second.close();
    }
    const third = await startPlatform({ PARLEY_DATA_DIR: dir });
    try {
      const disabled = await agentApi(third).call('/v1/agent/sessions', {
        body: { tenantId: 'demo', email: DEMO_AGENT.email, password: 'a-password-of-our-own' },
      });
      expect(disabled.status).toBe(401);
    } finally {
      await third.close();
    }
  });

  it('keeps the platform on loopback while it has the published password', async () => {
    await expect(startPlatform({ HOST: '0.0.0.0' })).rejects.toThrow(
      /HOST=0\.0\.0\.0 is reachable beyond this machine.*published password/,
    );
    // An agent already seeded with it: refused too, until it has another password.
    const dir = await dataDir();
    await (await startPlatform({ PARLEY_DATA_DIR: dir })).close();
    await expect(startPlatform({ PARLEY_DATA_DIR: dir, HOST: '0.0.0.0' })).rejects.toThrow(
      /published password/,
    );
    const open = await startPlatform({
      HOST: '0.0.0.0',
      PARLEY_DEMO_AGENT_PASSWORD: 'not-the-published-one',
    });
    await open.close();
  });
});
