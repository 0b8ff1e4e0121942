import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  FakeTwilioCall,
  TEST_AUTH_TOKEN,
  TEST_PUBLIC_URL,
  expectEventually,
} from '@parley/testing';
import { EspeakSynthesizer } from '@parley/voice';
import { DEMO_AGENT } from '../src/index.js';
import { agentApi, openHandoff } from './agents.js';
import { startPlatform, type Running } from './start.js';

/**
 * Phone calls in the embedded mode: the same voice pipeline on the in-process
 * bus and cache, with the offline pair (eSpeak NG; Whisper base from
 * `scripts/infra`). The caller asks the demo knowledge base by voice.
 */
const localStt = process.env.PARLEY_LOCAL_STT_URL;
let platform: Running;
const espeak = new EspeakSynthesizer({ threads: 1 });

beforeAll(async () => {
  if (!localStt)
    throw new Error('PARLEY_LOCAL_STT_URL is not set: run through scripts/test (scripts/infra up)');
  platform = await startPlatform({
    TWILIO_AUTH_TOKEN: TEST_AUTH_TOKEN,
    VOICE_PUBLIC_URL: TEST_PUBLIC_URL,
    VOICE_NUMBERS: '+15550100=demo',
    VOICE_LOCAL_STT_URL: localStt,
    VOICE_RECOGNITION_HINTS: 'PowerBlend, warranty',
    PARLEY_DEMO_KNOWLEDGE: 'true',
  });
  // The demo knowledge base loads once the port is known.
  await expectEventually(
    async () => {
      const found = await platform.app.platform.knowledge.search('demo', 'blender warranty');
      expect(found.passages.length).toBeGreaterThan(0);
    },
    { timeoutMs: 30_000 },
  );
}, 60_000);
afterAll(async () => {
  await espeak.close();
  await platform?.close();
});

describe('a phone call to the embedded platform', () => {
  it('answers a spoken question from the demo knowledge base, in audio', async () => {
    const call = await FakeTwilioCall.place(platform.baseUrl, {
      to: '+15550100',
      from: '+15557654321',
    });
    await call.silence(300);
    await call.untilQuiet();
    const question = await espeak.synthesize('How long is the warranty on a PowerBlend blender?', {
      language: 'en',
      signal: AbortSignal.timeout(10_000),
    });
    const { store, voice } = platform.app.platform;
    const conversationId = voice.active()[0]!.conversationId!;
    await call.speak(question);
    const asked = Date.now();
    await call.silence(800);
    await expectEventually(
      async () => {
        const messages = await store.messagesAfter('demo', conversationId, 0, 10);
        expect(messages.map((m) => m.role)).toEqual(['user', 'assistant']);
        expect(messages[0]!.text).toMatch(/warranty/i);
        expect(messages[1]!.sources?.map((s) => s.title)).toContain('Blender Warranty');
      },
      { timeoutMs: 30_000 },
    );
    await expectEventually(() => expect(call.audioSince(asked).length).toBeGreaterThan(25), {
      timeoutMs: 20_000,
    });
    call.stop();
    expect(await call.closed).toBe(1000);
    expect(platform.app.platform.voice.calls).toBe(0);
  }, 90_000);

  it('hands the caller to an agent on 0: the agent reads the call as text and is heard on the line', async () => {
    const api = agentApi(platform);
    // The demo agent is created once the platform listens.
    let dana = '';
    await expectEventually(async () => {
      dana = await api.signIn('demo', DEMO_AGENT.email, DEMO_AGENT.defaultPassword);
    });
    // Dana's console is connected (what its event stream records), so no callback is offered.
    await platform.app.platform.hitl.stores.agents.touchAgent('demo', DEMO_AGENT.id);
    const call = await FakeTwilioCall.place(platform.baseUrl, {
      to: '+15550100',
      from: '+15557650001',
    });
    await call.silence(300);
    await call.untilQuiet();
    const conversationId = platform.app.platform.voice.active()[0]!.conversationId!;
    call.dtmf('0');
    const handoff = await openHandoff(platform, 'demo', conversationId);
    expect(handoff.reason).toBe('user_request');
    if (handoff.status === 'queued') {
      const accepted = await api.call(`/v1/agent/handoffs/${handoff.id}/accept`, {
        token: dana,
        body: {},
      });
      expect(accepted.status).toBe(200);
    }
    await call.untilQuiet();
    // The agent types; the caller hears it.
    const typedAt = Date.now();
    const sent = await api.call(`/v1/agent/conversations/${conversationId}/messages`, {
      token: dana,
      body: { clientMessageId: 'a1', text: 'Hi, this is Dana. How can I help?' },
    });
    expect(sent.status).toBe(202);
    await expectEventually(() => expect(call.audioSince(typedAt).length).toBeGreaterThan(50), {
      timeoutMs: 20_000,
    });
    await call.untilQuiet();
    // The caller speaks; the agent reads it, and the assistant stays quiet.
    const words = await espeak.synthesize('I need help with my order.', {
      language: 'en',
      signal: AbortSignal.timeout(10_000),
    });
    await call.speak(words);
    await call.silence(800);
    await expectEventually(
      async () => {
        const read = await api.call(`/v1/agent/conversations/${conversationId}`, { token: dana });
        const messages = read.body.messages!;
        expect(messages.at(-1)).toMatchObject({
          role: 'user',
          text: expect.stringMatching(/order/i),
        });
        expect(messages.filter((m) => m.role === 'agent')).toHaveLength(1);
      },
      { timeoutMs: 30_000 },
    );
    const after = await platform.app.platform.store.messagesAfter('demo', conversationId, 0, 50);
    expect(after.at(-1)!.role).toBe('user'); // no assistant answer while the agent holds the call
    call.stop();
    expect(await call.closed).toBe(1000);
  }, 120_000);
});
