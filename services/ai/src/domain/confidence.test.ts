import { describe, expect, it } from 'vitest';
import { soundsUnsure } from './confidence.js';

describe('soundsUnsure', () => {
  it.each([
    "I'm not sure which plan includes that feature.",
    'I do not have enough information about your order.',
    "Sorry, I can't find anything about that error code.",
    'I am unable to verify your refund status.',
    "I don't know the opening hours of that store.",
  ])('hears a model admit it does not know: %s', (answer) => {
    expect(soundsUnsure(answer)).toBe(true);
  });

  it.each([
    'Your order ships within 2 business days.',
    'You can reset your password from the sign-in page.',
    "If you're not sure which plan fits, the comparison page lists every feature.",
    'I know this is frustrating; here is how to fix it.',
  ])('leaves a confident answer alone: %s', (answer) => {
    expect(soundsUnsure(answer)).toBe(false);
  });
});
