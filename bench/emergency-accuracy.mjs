// Emergency detection accuracy on a labelled corpus (bench/emergency/corpus.json:
// life safety, business impact and IT incidents in English, German, French and
// Spanish, with hard negatives such as "this deal is fire" or "my phone's
// emergency mode"): recall per category and language, precision, and the
// messages missed or flagged wrongly. Baseline, same run: flagging every
// message that contains one of the detector's words at all (what a naive
// keyword list does), so the ratio shows what the scoring buys.
//   pnpm --filter @parley/bench emergency-accuracy [--held-out] [--misses]
import { readFileSync } from 'node:fs';
import { DEFAULT_EMERGENCY_RULES, EmergencyDetector, emergencyDetector } from '@parley/ai';

// --held-out: bench/emergency/held-out.json, written without the rules in view and
// never tuned on (its figures are what unseen messages can expect).
const corpusName = process.argv.find((a) => a.startsWith('--corpus='))?.slice(9) ?? 'corpus';
const corpus = JSON.parse(
  readFileSync(new URL(`./emergency/${corpusName}.json`, import.meta.url), 'utf8'),
);
const showMisses = process.argv.includes('--misses');
const detector = emergencyDetector();
const rulesAlone = new EmergencyDetector(undefined, { classifier: null });
const words = [
  ...DEFAULT_EMERGENCY_RULES.keywords,
  ...DEFAULT_EMERGENCY_RULES.businessImpact,
  ...DEFAULT_EMERGENCY_RULES.urgency,
].map((r) => r.phrase.toLowerCase());
const naive = (text) => words.some((w) => text.toLowerCase().includes(w));

function evaluate(flags) {
  const byGroup = new Map();
  let tp = 0;
  let fp = 0;
  const misses = [];
  const wrong = [];
  for (const item of corpus) {
    const flagged = flags(item.text);
    for (const key of [item.category, `${item.category}/${item.language}`]) {
      const g = byGroup.get(key) ?? { n: 0, flagged: 0 };
      g.n++;
      if (flagged) g.flagged++;
      byGroup.set(key, g);
    }
    if (item.label === 'emergency') {
      if (flagged) tp++;
      else misses.push(item);
    } else if (flagged) {
      fp++;
      wrong.push(item);
    }
  }
  const emergencies = corpus.filter((i) => i.label === 'emergency').length;
  return { byGroup, recall: tp / emergencies, precision: tp / Math.max(1, tp + fp), misses, wrong };
}

const scored = evaluate((text) => detector.score(text).emergency);
const rules = evaluate((text) => rulesAlone.score(text).emergency);
const baseline = evaluate(naive);
const pct = (x) => `${(100 * x).toFixed(1)} %`;
console.log(
  `emergency detection on ${corpus.length} labelled messages (bench/emergency/${corpusName}.json)\n`,
);
console.log(
  'category / language         n   rules + classifier (the detector)   rules alone   keyword baseline',
);
for (const [key, g] of [...scored.byGroup].sort(([a], [b]) => a.localeCompare(b))) {
  const r = rules.byGroup.get(key);
  const b = baseline.byGroup.get(key);
  console.log(
    `  ${key.padEnd(24)} ${String(g.n).padStart(4)}   ${pct(g.flagged / g.n).padStart(8)}                            ${pct(r.flagged / r.n).padStart(8)}      ${pct(b.flagged / b.n).padStart(8)}`,
  );
}
for (const [name, e] of [
  ['rules + classifier', scored],
  ['rules alone', rules],
  ['keyword baseline', baseline],
])
  console.log(
    `\n${name}: recall ${pct(e.recall)}, precision ${pct(e.precision)}` +
      ` (recall ratio to the keyword baseline ${(e.recall / Math.max(baseline.recall, 1e-9)).toFixed(2)})`,
  );
console.log(
  '(for emergency categories "flagged" is recall; for the others it is the false-alarm rate)',
);
if (showMisses) {
  console.log(`\nmissed (${scored.misses.length}):`);
  for (const m of scored.misses) console.log(`  [${m.category}/${m.language}] ${m.text}`);
  console.log(`\nflagged wrongly (${scored.wrong.length}):`);
  for (const m of scored.wrong) console.log(`  [${m.category}/${m.language}] ${m.text}`);
}
