import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from './logger.js';
import { redactString } from './redact.js';

function capture() {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  const log = createLogger({ service: 'test', destination });
  return {
    log,
    output: () => lines.join(''),
    records: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

describe('createLogger', () => {
  it('redacts secret and personal fields by name, at any depth', () => {
    const { log, output, records } = capture();
    log.info(
      {
        apiKey: 'k-123',
        headers: { authorization: 'Basic abc', cookie: 'sid=1' },
        customer: {
          email: 'ana@example.com',
          phone: '555 0100',
          cardNumber: '4111 1111 1111 1111',
        },
        openai_api_key: 'plain-value',
        password: 'pw',
        conversationId: 'conv-1',
      },
      'Customer updated',
    );
    const text = output();
    for (const secret of [
      'k-123',
      'Basic abc',
      'sid=1',
      'ana@example.com',
      '555 0100',
      '4111',
      'plain-value',
      '"pw"',
    ]) {
      expect(text).not.toContain(secret);
    }
    expect(records()[0]).toMatchObject({
      conversationId: 'conv-1',
      msg: 'Customer updated',
      service: 'test',
    });
  });

  it('redacts personal data inside free text and messages', () => {
    const { log, output } = capture();
    log.info(
      { text: 'mail me at bob.smith+x@corp.example.org or call +44 20 7946 0958' },
      'Visitor wrote to jane@x.io',
    );
    log.warn('card 4242-4242-4242-4242 and phone (415) 555-2671');
    const text = output();
    expect(text).not.toMatch(/bob\.smith|jane@x\.io|7946|4242-4242|555-2671/);
    expect(text).toContain('[REDACTED]');
  });

  it('redacts tokens and API keys in values and in errors', () => {
    const { log, output, records } = capture();
    const err = new Error('upstream said 401 for key sk-proj-abcdefghijklmnop1234', {
      cause: new Error('Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl'),
    });
    log.error(
      { err, note: 'google key AIzaSyA1234567890abcdefghijklmnopqrstuv' },
      'Provider call failed',
    );
    const text = output();
    expect(text).not.toMatch(/sk-proj-abcdefghijklmnop1234|eyJhbGciOiJIUzI1NiJ9|AIzaSyA1234567890/);
    expect(records()[0]).toMatchObject({ err: { type: 'Error', cause: { type: 'Error' } } });
  });

  it('keeps ids, counts and order numbers that only look numeric', () => {
    expect(redactString('order 1234567890123 seq 42 offset 987654')).toBe(
      'order 1234567890123 seq 42 offset 987654',
    );
    expect(redactString('took 2026-11-25T10:11:12.000Z')).toBe('took 2026-11-25T10:11:12.000Z');
  });
});

describe('createLogger with fastify-style request objects', () => {
  it('logs method and scrubbed url of a request without walking the object or its address', () => {
    const lines: string[] = [];
    const destination = new Writable({
      write(chunk: Buffer, _e, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const log = createLogger({ service: 'test', destination });
    class FakeRequest {
      method = 'GET';
      url = '/v1/lookup?email=ana@example.com';
      headers = { 'user-agent': 'ua', authorization: 'Bearer abcdefgh' };
      socket = { remoteAddress: '203.0.113.9', self: this };
    }
    log.info({ req: new FakeRequest() }, 'incoming request');
    const record = JSON.parse(lines[0]!) as { req: Record<string, unknown> };
    expect(record.req).toEqual({
      method: 'GET',
      url: '/v1/lookup?email=[REDACTED]',
      userAgent: 'ua',
    });
    expect(lines[0]).not.toContain('203.0.113.9');
  });
});
