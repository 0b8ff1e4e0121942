import { describe, expect, it } from 'vitest';
import { cacheKey, keyPart, tenantIdSchema } from './keys.js';
import { conversationChannel } from './live.js';

describe('cache keys', () => {
  it('keep a tenant with a colon apart from a conversation with one', () => {
    expect(conversationChannel('acme', 'eu:1')).not.toBe(conversationChannel('acme:eu', '1'));
    expect(cacheKey('state', 'acme', 'eu:1')).toBe('parley:state:acme:eu%3A1');
    expect(cacheKey('state', 'acme:eu', '1')).toBe('parley:state:acme%3Aeu:1');
  });

  it('leave ordinary ids as they are, and escape the escape character', () => {
    expect(cacheKey('conv', 'acme', '6f1c2a4e-1b2c-4d3e-8f9a-0b1c2d3e4f5a')).toBe(
      'parley:conv:acme:6f1c2a4e-1b2c-4d3e-8f9a-0b1c2d3e4f5a',
    );
    expect(keyPart('a%3Ab')).toBe('a%253Ab');
    expect(keyPart('a%3Ab')).not.toBe(keyPart('a:b'));
  });
});

describe('tenant ids', () => {
  it('allow letters, digits, dot, underscore and dash', () => {
    for (const id of ['acme', 'acme-eu', 'Acme_2.eu', '7', 'x'.repeat(128)])
      expect(tenantIdSchema.safeParse(id).success, id).toBe(true);
  });

  it('refuse a colon, a leading symbol, spaces, control characters, non-ASCII and more than 128', () => {
    for (const id of [
      'acme:eu',
      '',
      '-acme',
      '.acme',
      'acme eu',
      'a\u0000b',
      'café',
      '‮acme',
      'x'.repeat(129),
    ])
      expect(tenantIdSchema.safeParse(id).success, JSON.stringify(id)).toBe(false);
  });
});
