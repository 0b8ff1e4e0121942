import { describe, expect, it } from 'vitest';
import { AgentTokens } from './agent-tokens.js';

const OLD = 'agent-tokens-old-Vb5Nk9Hd2Zq8Wm3Lx7Rc1';
const NEW = 'agent-tokens-new-Lm2Wc7Rv0Bn6Hy3Kd8Fs1';
const amy = { tenantId: 'acme', agentId: 'amy', name: 'Amy Ø’Brien 👩‍💻' };

describe('agent tokens', () => {
  it('identify the agent, and are verified by another region holding the same keys', async () => {
    const { token } = await new AgentTokens(OLD).issue(amy);
    expect(await new AgentTokens(OLD).verify(token)).toEqual(amy);
  });

  it('keep an agent signed in across a key rotation, and stop at the old key’s removal', async () => {
    const { token } = await new AgentTokens(OLD).issue(amy);
    const rotating = new AgentTokens(`2027-01:${NEW},${OLD}`);
    expect(await rotating.verify(token)).toEqual(amy);
    const fresh = (await rotating.issue(amy)).token;
    expect(await new AgentTokens(`2027-01:${NEW}`).verify(fresh)).toEqual(amy);
    expect(await new AgentTokens(`2027-01:${NEW}`).verify(token)).toBeNull();
  });

  it('keep event-stream tickets apart from bearer tokens', async () => {
    const tokens = new AgentTokens(OLD);
    const { ticket } = await tokens.issueTicket(amy);
    expect(await tokens.verify(ticket)).toBeNull();
    expect(await tokens.verifyTicket((await tokens.issue(amy)).token)).toBeNull();
    expect(await tokens.verifyTicket(ticket)).toMatchObject({
      ...amy,
      ticketId: expect.any(String),
    });
  });
});
