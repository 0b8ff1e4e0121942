import { describe, expect, it } from 'vitest';
import { IntentClassifier } from './intent.js';
import type { Reply, ReplyProvider, ReplyRequest } from './provider.js';

const ask = (text: string): ReplyRequest => ({
  tenantId: 't',
  conversationId: 'c',
  text,
  history: [],
  signal: new AbortController().signal,
});

describe('IntentClassifier without a model (the rule)', () => {
  const rule = new IntentClassifier();
  it.each([
    'I want to talk to a human',
    'Can I speak with someone from support?',
    'agent',
    'Real person please!',
    'connect me to a representative',
  ])('takes %j as asking for a person', async (text) => {
    expect(await rule.humanRequested(ask(text))).toEqual({ asked: true, by: 'rule' });
  });

  it.each([
    'What are your opening hours?',
    'My antivirus agent crashed',
    'Is this a real discount?',
    'hello',
  ])('does not take %j as asking for a person', async (text) => {
    expect((await rule.humanRequested(ask(text))).asked).toBe(false);
  });
});

describe('IntentClassifier with a model', () => {
  const model = (answer: string | Error, calls: ReplyRequest[] = []): ReplyProvider => ({
    name: 'fake',
    reply: async (request): Promise<Reply> => {
      calls.push(request);
      if (answer instanceof Error) throw answer;
      return { text: answer };
    },
  });

  it('asks the model only when the message mentions someone, as an intent call', async () => {
    const calls: ReplyRequest[] = [];
    const classifier = new IntentClassifier({ router: model('Yes.', calls) });
    expect(await classifier.humanRequested(ask('hello there'))).toEqual({
      asked: false,
      by: 'rule',
    });
    expect(calls).toHaveLength(0);
    expect(await classifier.humanRequested(ask('is a person around?'))).toEqual({
      asked: true,
      by: 'model',
    });
    expect(calls[0]).toMatchObject({ purpose: 'intent', history: [] });
  });

  it('falls back to the rule when the model fails or answers something else', async () => {
    const failing = new IntentClassifier({ router: model(new Error('503')) });
    expect(await failing.humanRequested(ask('talk to a human'))).toEqual({
      asked: true,
      by: 'rule',
    });
    const rambling = new IntentClassifier({ router: model('It depends on many things') });
    expect(await rambling.humanRequested(ask('my agent software'))).toEqual({
      asked: false,
      by: 'rule',
    });
  });
});
