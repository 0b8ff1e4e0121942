import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { emergencyDetector } from '@parley/ai';

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
const detector = emergencyDetector();
const flag = (items: Labelled[]) =>
  items.map((item) => ({ ...item, flagged: detector.score(item.text).emergency }));
type Flagged = ReturnType<typeof flag>;
const recall = (items: Flagged) => items.filter((i) => i.flagged).length / items.length;
const precision = (items: Flagged) => {
  const alarms = items.filter((i) => i.flagged);
  return alarms.filter((i) => i.label === 'emergency').length / alarms.length;
};

/**
 * The goals of issue 19: recall 0.98 on life safety, 0.95 overall, precision
 * 0.95. The rules were written and the classifier trained on every corpus in
 * bench/emergency but fresh-3.json (bench/emergency/train.py), so its figures
 * are what new messages can expect; there the recall goals are not met yet
 * (life safety 0.927, overall 0.888, precision 0.979): this holds what was
 * reached, a little below for other CPUs' rounding. Keep it so: never tune on
 * fresh-3.json.
 */
describe('emergency detection on the labelled corpora', () => {
  it('meets the goals on what it was trained and tuned on, in every language', () => {
    const seen = flag(
      [
        ...['corpus', 'dev', 'unseen', 'fresh', 'fresh-2'],
        ...['train-a', 'train-b', 'train-c', 'train-d', 'train-e'],
      ].flatMap(load),
    );
    const lifeSafety = seen.filter((i) => i.category === 'life_safety');
    expect(lifeSafety.length).toBeGreaterThanOrEqual(600);
    expect(recall(lifeSafety)).toBeGreaterThanOrEqual(0.98);
    for (const language of ['en', 'de', 'fr', 'es'])
      expect(recall(lifeSafety.filter((i) => i.language === language)), language).toBeGreaterThan(
        0.95,
      );
    expect(recall(seen.filter((i) => i.label === 'emergency'))).toBeGreaterThanOrEqual(0.95);
    expect(precision(seen)).toBeGreaterThanOrEqual(0.95);
  });

  it('keeps what it reached on fresh-3.json, which nothing was trained or tuned on', () => {
    const fresh = flag(load('fresh-3'));
    expect(fresh.length).toBeGreaterThanOrEqual(320);
    expect(recall(fresh.filter((i) => i.category === 'life_safety'))).toBeGreaterThanOrEqual(0.9);
    expect(recall(fresh.filter((i) => i.label === 'emergency'))).toBeGreaterThanOrEqual(0.87);
    expect(precision(fresh)).toBeGreaterThanOrEqual(0.95);
    // At most one ordinary support message in 100 raises an alarm.
    expect(fresh.filter((i) => i.category === 'ordinary' && i.flagged).length).toBeLessThanOrEqual(
      1,
    );
  });
});
