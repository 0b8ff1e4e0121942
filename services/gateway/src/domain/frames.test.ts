import { describe, expect, it } from 'vitest';
import { parseClientFrame } from './frames.js';

const message = (text: string, clientMessageId = 'm-1') =>
  JSON.stringify({ type: 'message', clientMessageId, text });

describe('parseClientFrame', () => {
  it('keeps emoji, right-to-left text and other characters as written', () => {
    for (const text of [
      'hello 👋🏽',
      'مرحبا، أين طلبي؟',
      'שלום\u200f',
      'tab\there',
      'a\u0001b',
      '‮reversed',
    ])
      expect(parseClientFrame(message(text))).toEqual({
        ok: true,
        frame: { type: 'message', clientMessageId: 'm-1', text },
      });
  });

  it('refuses a NUL character, which Postgres cannot store, naming the message', () => {
    for (const text of ['\u0000', 'before\u0000after', 'x'.repeat(100) + '\u0000']) {
      const parsed = parseClientFrame(message(text, 'nul-1'));
      expect(parsed).toMatchObject({ ok: false, clientMessageId: 'nul-1' });
      expect(!parsed.ok && parsed.message).toMatch(/NUL/);
    }
  });

  it('names the message of any invalid message frame when its id is valid, and only then', () => {
    expect(parseClientFrame(message('   ', 'blank-1'))).toMatchObject({
      ok: false,
      clientMessageId: 'blank-1',
    });
    expect(
      parseClientFrame(
        JSON.stringify({ type: 'message', clientMessageId: 'x-1', text: 'hi', extra: 1 }),
      ),
    ).toMatchObject({ ok: false, clientMessageId: 'x-1' });
    const badId = parseClientFrame(message('hi', 'bad id with spaces'));
    expect(badId.ok).toBe(false);
    expect(badId).not.toHaveProperty('clientMessageId');
    expect(parseClientFrame('null')).not.toHaveProperty('clientMessageId');
    expect(parseClientFrame('not json')).toEqual({ ok: false, message: 'frame is not JSON' });
  });

  it('refuses a NUL character in a callback note', () => {
    const parsed = parseClientFrame(
      JSON.stringify({ type: 'callback', email: 'visitor@example.com', note: 'call\u0000me' }),
    );
    expect(parsed.ok).toBe(false);
  });
});
