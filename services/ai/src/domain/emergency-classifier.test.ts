import { describe, expect, it } from 'vitest';
import { bundledEmergencyClassifier } from '../adapters/emergency-model.js';

const classifier = bundledEmergencyClassifier();

describe('EmergencyClassifier', () => {
  it('gives the probabilities scikit-learn gave when it was trained (the port is faithful)', () => {
    const model = (classifier as unknown as { model: { parity: Array<[string, number]> } }).model;
    expect(model.parity.length).toBeGreaterThanOrEqual(10);
    for (const [text, expected] of model.parity)
      expect(Math.abs(classifier.probability(text) - expected), text).toBeLessThan(1e-3);
  });

  it('recognises dangers that no rule names, and leaves everyday questions alone', () => {
    expect(classifier.isEmergency("my mum went grey, she's sweating and clutching her chest")).toBe(
      true,
    );
    expect(classifier.isEmergency('where is my order? it was due on Monday')).toBe(false);
    expect(classifier.isEmergency('')).toBe(false);
  });

  it('reads only the start of a very long message', () => {
    const long = `${'where is my parcel '.repeat(5_000)} the kitchen is on fire`;
    expect(classifier.probability(long)).toBe(classifier.probability(long.slice(0, 1_000)));
  });
});
