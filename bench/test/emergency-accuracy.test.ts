import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { EmergencyDetector } from '@parley/ai/emergency';

interface Labelled {
  text: string;
  label: 'emergency' | 'not_emergency';
  category: string;
  language: string;
}

const load = (name: string) =>
  JSON.parse(
    readFileSync(new URL(`../emergency/${name}.json`, import.meta.url), 'utf8'),
  ) as Labelled[];
// Both corpora the rules were tuned with in view; unseen.json is left out on purpose.
const corpus = [...load('corpus'), ...load('dev')];
const detector = new EmergencyDetector();
const flagged = corpus.map((item) => ({ ...item, flagged: detector.score(item.text).emergency }));
const recall = (items: typeof flagged) => items.filter((i) => i.flagged).length / items.length;

/**
 * The goals of issue 19 on the labelled corpora (bench/emergency/corpus.json
 * and dev.json, 658 messages in four languages): recall 0.98 on life safety,
 * 0.95 overall, precision 0.95. The rules were tuned with these in view: a
 * guard against regressions, not a measure of unseen messages (unseen.json,
 * reported by `emergency-accuracy --corpus=unseen`, is that).
 */
describe('emergency detection on the labelled corpus', () => {
  it('finds at least 98 % of life-safety messages, in every language', () => {
    const lifeSafety = flagged.filter((i) => i.category === 'life_safety');
    expect(lifeSafety.length).toBeGreaterThanOrEqual(280);
    expect(recall(lifeSafety)).toBeGreaterThanOrEqual(0.98);
    for (const language of ['en', 'de', 'fr', 'es'])
      expect(recall(lifeSafety.filter((i) => i.language === language)), language).toBeGreaterThan(
        0.9,
      );
  });

  it('finds at least 95 % of all emergencies, with a precision of at least 95 %', () => {
    const emergencies = flagged.filter((i) => i.label === 'emergency');
    expect(recall(emergencies)).toBeGreaterThanOrEqual(0.95);
    const alarms = flagged.filter((i) => i.flagged);
    const precision = alarms.filter((i) => i.label === 'emergency').length / alarms.length;
    expect(precision).toBeGreaterThanOrEqual(0.95);
  });
});
