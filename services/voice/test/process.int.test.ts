import { TEST_AUTH_TOKEN, TEST_PUBLIC_URL, serviceProcessSuite } from '@parley/testing';

serviceProcessSuite({
  service: 'voice',
  entry: new URL('../dist/main.js', import.meta.url).pathname,
  checks: ['redis', 'kafka'],
  // The voice HPA's metric.
  metrics: ['concurrent_calls'],
  // Telephony on: the media stream's socket is served beside the other paths.
  upgradePaths: ['/v1/voice/twilio/stream'],
  env: {
    TWILIO_AUTH_TOKEN: TEST_AUTH_TOKEN,
    VOICE_PUBLIC_URL: TEST_PUBLIC_URL,
    // Recognition is not used here; an address is needed to start.
    VOICE_LOCAL_STT_URL: 'http://127.0.0.1:9/v1',
  },
});
