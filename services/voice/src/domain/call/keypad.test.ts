import { afterEach, describe, expect, it, vi } from 'vitest';
import { Keypad } from './keypad.js';

function keypad(digitTimeoutMs?: number) {
  const asked: string[] = [];
  const pad = new Keypad(digitTimeoutMs === undefined ? {} : { digitTimeoutMs }, {
    agent: () => asked.push('agent'),
    repeat: () => asked.push('repeat'),
    keying: () => asked.push('keying'),
    send: (digits) => asked.push(`send:${digits}`),
  });
  return { pad, asked };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('the keypad', () => {
  it('asks for an agent on 0 as the first key, and repeats on *', () => {
    const { pad, asked } = keypad();
    pad.press('0');
    pad.press('*');
    expect(asked).toEqual(['agent', 'repeat']);
  });

  it('collects digits (0 among them) and sends them on #', () => {
    const { pad, asked } = keypad();
    for (const key of ['4', '0', '2', '#']) pad.press(key);
    expect(asked).toEqual(['keying', 'keying', 'keying', 'send:402']);
    pad.press('#');
    expect(asked).toHaveLength(4);
  });

  it('sends the digits after a pause of 3 s by default, keeping the last 32', () => {
    vi.useFakeTimers();
    const { pad, asked } = keypad();
    for (let i = 0; i < 40; i++) pad.press(String((i % 9) + 1));
    vi.advanceTimersByTime(2_999);
    expect(asked.filter((a) => a.startsWith('send'))).toEqual([]);
    vi.advanceTimersByTime(1);
    const sent = asked.find((a) => a.startsWith('send:'))!;
    expect(sent.slice('send:'.length)).toHaveLength(32);
  });

  it('takes any other key as only cancelling the pause', () => {
    vi.useFakeTimers();
    const { pad, asked } = keypad(1_000);
    pad.press('7');
    pad.press('A');
    vi.advanceTimersByTime(5_000);
    expect(asked).toEqual(['keying']);
    pad.press('#');
    expect(asked).toEqual(['keying', 'send:7']);
  });

  it('sends nothing once the call ended', () => {
    vi.useFakeTimers();
    const { pad, asked } = keypad();
    pad.press('5');
    pad.end();
    vi.advanceTimersByTime(10_000);
    expect(asked).toEqual(['keying']);
  });
});
