import { describe, expect, it } from 'vitest';
import { FALLBACK_ANSWER } from './faq.js';
import { OfflineProvider, tokens } from './offline-provider.js';

const ask = (text: string) =>
  new OfflineProvider().reply({
    tenantId: 't',
    conversationId: 'c',
    text,
    history: [],
    signal: new AbortController().signal,
  });

describe('OfflineProvider', () => {
  it('answers a question phrased differently from the FAQ', async () => {
    expect((await ask('What are your opening hours?')).text).toMatch(/Monday to Friday/);
    expect((await ask('I forgot my password!')).text).toMatch(/reset link/);
    expect((await ask('Can I get a refund please')).text).toMatch(/30 days/);
  });

  it('greets a greeting', async () => {
    expect((await ask('Hi there')).text).toMatch(/^Hello!/);
  });

  it('falls back politely when nothing matches', async () => {
    expect((await ask('qwerty zxcv')).text).toBe(FALLBACK_ANSWER);
    expect((await ask('???')).text).toBe(FALLBACK_ANSWER);
  });

  it('reduces words to stems without stop words', () => {
    expect([...tokens('Where are my Refunds?')]).toEqual(['refund']);
  });
});
