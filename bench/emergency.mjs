// Emergency detection cost per message (it must stay well under the 150 ms the design
// allows for an emergency answer), p50/p99 over a mixed corpus, against a baseline
// measured in the same run: one lower-cased substring check per message (the least any
// detector must do).
//   pnpm --filter @parley/bench emergency [iterations=20000]
import { emergencyDetector } from '@parley/ai';

const iterations = Math.min(Number(process.argv[2] ?? 20_000), 200_000);
const corpus = [
  'What are your opening hours?',
  'How do I get a refund for my order 12345?',
  'URGENT: our production is down and we are losing money!!!',
  'We got hacked, customers cannot log in, please help immediately',
  'Hi there',
  'The antivirus renewal price, please?',
  `${'Could you explain the invoice lines in detail? '.repeat(60)}server down`,
  'ransomware on every laptop, emergency',
];
const detector = emergencyDetector();

function measure(label, fn) {
  for (let i = 0; i < 2_000; i++) fn(corpus[i % corpus.length]); // warm up
  const times = new Float64Array(iterations);
  let flagged = 0;
  for (let i = 0; i < iterations; i++) {
    const text = corpus[i % corpus.length];
    const t0 = performance.now();
    if (fn(text)) flagged++;
    times[i] = performance.now() - t0;
  }
  times.sort();
  const pct = (p) => times[Math.min(times.length - 1, Math.floor((p / 100) * times.length))] * 1000;
  const result = { p50: pct(50), p99: pct(99), flagged };
  console.log(
    `${label.padEnd(30)} p50 ${result.p50.toFixed(2)} µs  p99 ${result.p99.toFixed(2)} µs  (${flagged}/${iterations} flagged)`,
  );
  return result;
}

const baseline = measure('baseline: one includes()', (t) => t.toLowerCase().includes('emergency'));
const detect = measure('EmergencyDetector.score', (t) => detector.score(t).emergency);
console.log(
  `ratio to baseline: p50 x${(detect.p50 / baseline.p50).toFixed(1)}, p99 x${(detect.p99 / baseline.p99).toFixed(1)}; ` +
    `p99 is ${((detect.p99 / 1000 / 150) * 100).toFixed(4)} % of the 150 ms budget`,
);
