/** One boundary parser under fuzzing: its target file and its seeds. */
export interface FuzzTargetInfo {
  /** The target's name, and its file `src/targets/<name>.fuzz.ts`. */
  name: string;
  /** The parser, for reports. */
  parser: string;
  /** The regression corpus it starts from: `packages/testing/fuzz-corpus/<corpus>.jsonl`. */
  corpus: string;
  /** Valid inputs besides the corpus (which holds mostly broken ones), so mutations reach deep. */
  valid: string[];
  /** The target module, if not `src/targets/<name>.fuzz.ts`. */
  entry?: string;
}

const json = (value: unknown) => JSON.stringify(value);
const envelope = (type: string, payload: unknown, extra: object = {}) =>
  json({
    event_id: '0b8f3b9e-5f6c-4d8a-9b1e-2c3d4e5f6a7b',
    type,
    schema_version: 1,
    conversation_id: 'c-1',
    tenant_id: 't-1',
    occurred_at: '2025-01-01T12:00:00.000Z',
    trace: { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' },
    payload,
    ...extra,
  });

/** Every boundary parser Parley fuzzes, by name. */
export const fuzzTargets: readonly FuzzTargetInfo[] = [
  {
    name: 'frames',
    parser: 'gateway parseClientFrame (widget WebSocket frames)',
    corpus: 'frames',
    valid: [
      json({ type: 'resume', afterSeq: 0 }),
      json({ type: 'message', clientMessageId: 'fuzz-1', text: 'hello' }),
      json({ type: 'typing', active: true }),
      json({ type: 'ping' }),
      json({ type: 'callback', phone: '+41 (44) 555-01-00', note: 'call me' }),
      json({ type: 'callback', email: 'visitor@example.com' }),
    ],
  },
  {
    name: 'sessions',
    parser: 'gateway parseSessionRequest behind fastify JSON parsing (POST /v1/widget/sessions)',
    corpus: 'sessions',
    valid: [
      json({ widgetKey: 'pk_demo', language: 'de-CH' }),
      json({
        widgetKey: 'pk_demo',
        visitorToken: 'eyJhbGciOiJIUzI1NiJ9.e30.x',
        conversationId: 'c-1',
        customer: { id: 'cust-1', signature: 'a'.repeat(64) },
      }),
    ],
  },
  {
    name: 'envelopes',
    parser: 'contracts EventRegistry.decode (Kafka conversation-events)',
    corpus: 'envelopes',
    valid: [
      envelope('message.received', {
        message_id: 'm-1',
        client_message_id: 'x-1',
        visitor_id: 'v-1',
        channel: 'web',
        text: 'hello',
        language: 'de',
      }),
      envelope('reply.generated', {
        reply_to_seq: 1,
        message_id: 'm-2',
        text: 'We open at nine.',
        provider: 'offline',
        sources: [],
      }),
      envelope('message.received', {}, { schema_version: 7 }),
      envelope('something.new', {}),
    ],
  },
  {
    name: 'media',
    parser: 'voice parseMediaStreamMessage + mediaPayloadPcm (Twilio media streams)',
    corpus: 'media',
    valid: [
      json({ event: 'connected', protocol: 'Call', version: '1.0.0' }),
      json({
        event: 'start',
        sequenceNumber: '1',
        streamSid: 'MZ1',
        start: {
          streamSid: 'MZ1',
          callSid: 'CA1',
          accountSid: 'AC1',
          tracks: ['inbound'],
          customParameters: { tenant: 'demo', from: '+15550100', token: 't' },
          mediaFormat: { encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 1 },
        },
      }),
      json({
        event: 'media',
        sequenceNumber: '2',
        streamSid: 'MZ1',
        media: { track: 'inbound', chunk: '1', timestamp: '20', payload: '/////w==' },
      }),
      json({ event: 'mark', streamSid: 'MZ1', mark: { name: 'utterance-1' } }),
      json({ event: 'dtmf', streamSid: 'MZ1', dtmf: { track: 'inbound_track', digit: '5' } }),
      json({ event: 'stop', streamSid: 'MZ1', stop: { callSid: 'CA1' } }),
    ],
  },
  {
    name: 'redact',
    parser: 'observability redactString (every logged URL and message, the answer cache screen)',
    corpus: 'redact',
    valid: [
      '/v1/widget/sessions?email=visitor@example.com&token=eyJhbGciOi.eyJzdWIiOiIx.c2lnbmF0dXJl',
      'Authorization: Bearer sk-abcdefghijklmnopqrstuvwx',
      'call me on +41 44 555 01 00 or (415) 555-0134, card 4111 1111 1111 1111',
      'my key is AIzaSyA-abcdefghijklmnopqrstuvwxyz012345 and ghp_abcdefghijklmnopqrstuvwxyz',
    ],
  },
];
