import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resetUpgrade, upgradeAnswer } from '@parley/testing';
import { startPlatform, type Running } from './start.js';

/**
 * The embedded mode serves the widget's socket and, with telephony on, Twilio's
 * media streams on one server. Every upgrade must be answered, and a client
 * that resets its socket mid-upgrade must not take the platform down (an
 * uncaught socket error would fail this file).
 */
describe('WebSocket upgrades on the embedded platform, telephony off', () => {
  let platform: Running;
  beforeAll(async () => {
    platform = await startPlatform();
  });
  afterAll(() => platform?.close());

  it('answers an upgrade to the phone stream with 404 while telephony is off', async () => {
    const answer = await upgradeAnswer(platform.baseUrl, '/v1/voice/twilio/stream');
    expect(answer.status).toBe(404);
    expect(answer.text).toContain('"code":"GW_ERR_NOT_FOUND"');
    expect((await upgradeAnswer(platform.baseUrl, '/elsewhere')).status).toBe(404);
  });

  it('refuses a widget upgrade without a token with its documented code', async () => {
    const answer = await upgradeAnswer(platform.baseUrl, '/v1/widget/ws');
    expect(answer.status).toBe(401);
    expect(answer.text).toContain('"code":"GW_ERR_SESSION_TOKEN_INVALID"');
  });

  it('goes on serving after clients reset their sockets mid-upgrade on every path', async () => {
    for (const path of ['/v1/widget/ws?token=x', '/v1/voice/twilio/stream', '/elsewhere'])
      for (const afterMs of [0, 100, 500]) await resetUpgrade(platform.baseUrl, path, afterMs);
    expect((await fetch(`${platform.baseUrl}/healthz`)).status).toBe(200);
    expect((await upgradeAnswer(platform.baseUrl, '/elsewhere')).status).toBe(404);
  });
});

describe('WebSocket upgrades on the embedded platform, telephony on', () => {
  let platform: Running;
  beforeAll(async () => {
    platform = await startPlatform({
      TWILIO_AUTH_TOKEN: 'upgrade-test-auth-token-0123456789',
      VOICE_PUBLIC_URL: 'https://voice.example.test',
      // Never called: no call gets as far as speech here.
      VOICE_LOCAL_STT_URL: 'http://127.0.0.1:9/v1',
    });
  });
  afterAll(() => platform?.close());

  it('accepts the phone stream and still answers 404 elsewhere', async () => {
    expect((await upgradeAnswer(platform.baseUrl, '/v1/voice/twilio/stream')).status).toBe(101);
    expect((await upgradeAnswer(platform.baseUrl, '/elsewhere')).status).toBe(404);
    for (const afterMs of [0, 100]) {
      await resetUpgrade(platform.baseUrl, '/v1/voice/twilio/stream', afterMs);
      await resetUpgrade(platform.baseUrl, '/v1/widget/ws', afterMs);
    }
    expect((await fetch(`${platform.baseUrl}/healthz`)).status).toBe(200);
  });
});
