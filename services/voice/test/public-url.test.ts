import { afterEach, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { adminFields, isConfigError, loadConfig } from '@parley/config';
import { embeddedPorts } from '@parley/embedded';
import { createLogger, createMetricsRegistry } from '@parley/observability';
import { createApp } from '@parley/service-kit';
import { TEST_AUTH_TOKEN } from '@parley/testing';
import { voiceFields } from '../src/config.js';
import { voiceModule } from '../src/module.js';

/** Twilio calls only https:// webhooks and wss:// streams: a plain-HTTP public URL is a mistake. */
let app: FastifyInstance | undefined;
afterEach(async () => {
  await app?.close().catch(() => undefined);
  app = undefined;
});

async function mount(env: Record<string, string>): Promise<unknown> {
  app = createApp({
    service: 'voice',
    logger: createLogger({ service: 'voice', level: 'silent' }),
    metrics: createMetricsRegistry({ service: 'voice', processMetrics: false }),
  });
  await app.register(embeddedPorts, {});
  const settings = loadConfig(
    { ...voiceFields, ...adminFields },
    {
      PARLEY_ADMIN_TOKEN: 'operator-token-0123456789abcdef',
      TWILIO_AUTH_TOKEN: TEST_AUTH_TOKEN,
      VOICE_LOCAL_STT_URL: 'http://127.0.0.1:9/v1',
      ...env,
    },
  );
  // fastify loads a plugin when its registration is awaited: the refusal comes from there.
  try {
    await app.register(voiceModule, { settings: { ...settings, shutdownDeadlineMs: 5_000 } });
    await app.ready();
    return null;
  } catch (err) {
    return err;
  }
}

describe('VOICE_PUBLIC_URL', () => {
  it('refuses an http:// address at start, naming the variable and the way out', async () => {
    const err = await mount({ VOICE_PUBLIC_URL: 'http://voice.example.test' });
    expect(isConfigError(err)).toBe(true);
    expect((err as Error).message).toContain(
      'VOICE_PUBLIC_URL="http://voice.example.test" is invalid: expected an https:// address',
    );
    expect((err as Error).message).toContain('VOICE_ALLOW_HTTP_PUBLIC_URL=true');
  });

  it('accepts https://, and http:// only when development says so', async () => {
    expect(await mount({ VOICE_PUBLIC_URL: 'https://voice.example.test' })).toBeNull();
    await app!.close().catch(() => undefined);
    expect(
      await mount({
        VOICE_PUBLIC_URL: 'http://127.0.0.1:8085',
        VOICE_ALLOW_HTTP_PUBLIC_URL: 'true',
      }),
    ).toBeNull();
  });
});
