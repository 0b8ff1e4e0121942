import { describe, expect, it } from 'vitest';
import { WidgetTokens } from './tokens.js';

const SECRET = 'tokens-test-secret-0123456789abcdef-xyz';
const tokens = new WidgetTokens(SECRET, 900, 86_400);
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('conversation ids', () => {
  it('are UUIDs (version 8), different each time', () => {
    const ids = new Set(Array.from({ length: 1000 }, () => tokens.newConversationId('acme', 'v1')));
    expect(ids.size).toBe(1000);
    for (const id of ids) expect(id).toMatch(UUID);
  });

  it('are recognised as issued only to the visitor and tenant they were issued to', () => {
    const id = tokens.newConversationId('acme', 'visitor-a');
    expect(tokens.issuedTo(id, 'acme', 'visitor-a')).toBe(true);
    expect(tokens.issuedTo(id, 'acme', 'visitor-b')).toBe(false);
    expect(tokens.issuedTo(id, 'other', 'visitor-a')).toBe(false);
    // Tenant and visitor are not run together: ("a", "bc") is not ("ab", "c").
    expect(tokens.issuedTo(tokens.newConversationId('a', 'bc'), 'ab', 'c')).toBe(false);
    expect(new WidgetTokens(`${SECRET}-other`, 900, 86_400).issuedTo(id, 'acme', 'visitor-a')).toBe(
      false,
    );
  });

  it('are not accepted when chosen, altered or of another shape', () => {
    const id = tokens.newConversationId('acme', 'visitor-a');
    const flipped = `${id.slice(0, -1)}${id.endsWith('0') ? '1' : '0'}`;
    for (const other of [
      flipped,
      id.toUpperCase(),
      '6f1c2a4e-1b2c-4d3e-8f9a-0b1c2d3e4f5a', // a random v4 UUID
      'my-own-conversation',
      `${id}x`,
      '',
    ])
      expect(tokens.issuedTo(other, 'acme', 'visitor-a'), other).toBe(false);
  });
});

describe('tokens across a key rotation', () => {
  const OTHER = 'tokens-test-rotated-Zq8Wm3Lx7Rc1Vb5Nk9Hd2';
  // The secret used alone so far is listed second, bare: its tokens keep their key id.
  const rotated = new WidgetTokens(`2027-01:${OTHER},${SECRET}`, 900, 86_400);

  it('keep sessions, visitors and conversations issued under the old key', async () => {
    const visitor = await tokens.issueVisitor({ tenantId: 'acme', visitorId: 'v1' });
    expect(await rotated.verifyVisitor(visitor, 'acme')).toEqual({
      tenantId: 'acme',
      visitorId: 'v1',
    });
    const id = tokens.newConversationId('acme', 'v1');
    expect(rotated.issuedTo(id, 'acme', 'v1')).toBe(true);
    const { token } = await tokens.issueSession({
      tenantId: 'acme',
      visitorId: 'v1',
      conversationId: id,
      origin: 'https://acme.example',
    });
    expect(await rotated.verifySession(token)).toMatchObject({ conversationId: id });
  });

  it('sign new ones with the new key, which the old key alone refuses', async () => {
    const visitor = await rotated.issueVisitor({ tenantId: 'acme', visitorId: 'v2' });
    expect(await tokens.verifyVisitor(visitor, 'acme')).toBeNull();
    expect(tokens.issuedTo(rotated.newConversationId('acme', 'v2'), 'acme', 'v2')).toBe(false);
  });
});
