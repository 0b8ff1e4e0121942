// Offline speech recognition accuracy: the 75 customer questions of the
// knowledge benchmark (bench/knowledge/questions.json), spoken by eSpeak NG and
// recognized by the offline recognizer (Whisper base, `scripts/infra`) as a
// phone call carries them: 8 kHz, through mu-law and back. Word error rate and
// exact sentences. Baseline, same run: the same speech in wide band (16 kHz,
// no mu-law), so the ratio is what the telephone band costs.
//
//   scripts/infra up && eval "$(scripts/infra env)" && pnpm --filter @parley/bench voice-accuracy [questions=75]
//
// Loopback only; bounded: at most 75 questions, 5 minutes.
import { readFileSync } from 'node:fs';
import OpenAI, { toFile } from 'openai';
import wavefile from 'wavefile';
import { wordErrors } from '@parley/testing';
import { EspeakSynthesizer, decodeMulaw, encodeMulaw, toWav } from '@parley/voice';

const count = Math.min(Number(process.argv[2] ?? 75), 75);
const BOUND_MS = 300_000;
setTimeout(() => {
  console.error(`bench: still running after ${BOUND_MS / 1000} s; giving up`);
  process.exit(2);
}, BOUND_MS).unref();
const localStt = process.env.PARLEY_LOCAL_STT_URL;
if (!localStt)
  throw new Error('PARLEY_LOCAL_STT_URL is not set: eval "$(scripts/infra env)" first');

const questions = JSON.parse(
  readFileSync(new URL('./knowledge/questions.json', import.meta.url), 'utf8'),
)
  .slice(0, count)
  .map((q) => q.question);
const stt = new OpenAI({ apiKey: 'local', baseURL: localStt, maxRetries: 0 });
const espeak = new EspeakSynthesizer({ threads: 1 });
const transcribe = async (wav) =>
  (
    await stt.audio.transcriptions.create({
      file: await toFile(wav, 'q.wav'),
      model: 'whisper-base',
      language: 'en',
    })
  ).text;

const runs = {
  phone: { errors: 0, words: 0, exact: 0, ms: [] },
  wide: { errors: 0, words: 0, exact: 0, ms: [] },
};
const misses = [];
try {
  for (const question of questions) {
    const signal = AbortSignal.timeout(20_000);
    const raw = await espeak.wav(question, { language: 'en', signal });
    const wide = new wavefile.WaveFile(raw);
    wide.toSampleRate(16_000, { method: 'cubic', LPF: true });
    const phone = decodeMulaw(
      encodeMulaw(await espeak.synthesize(question, { language: 'en', signal })),
    );
    for (const [name, wav] of [
      ['phone', toWav(phone)],
      ['wide', wide.toBuffer()],
    ]) {
      const started = performance.now();
      const heard = await transcribe(wav);
      runs[name].ms.push(performance.now() - started);
      const { errors, words } = wordErrors(question, heard);
      runs[name].errors += errors;
      runs[name].words += words;
      if (errors === 0) runs[name].exact++;
      else if (name === 'phone') misses.push(`  "${question}" -> "${heard.trim()}"`);
    }
  }
} finally {
  await espeak.close();
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const wer = (r) => r.errors / r.words;
console.log(
  `\noffline recognition of ${questions.length} questions spoken by eSpeak NG (Whisper base):`,
);
for (const [name, label] of [
  ['phone', 'telephone band (8 kHz, mu-law)'],
  ['wide', 'baseline: wide band (16 kHz)'],
])
  console.log(
    `  ${label.padEnd(32)} WER ${(100 * wer(runs[name])).toFixed(1)} %, exact ${runs[name].exact}/${questions.length}, median ${Math.round(median(runs[name].ms))} ms`,
  );
console.log(
  `  ratio of word error rates, phone / wide band: ${(wer(runs.phone) / Math.max(wer(runs.wide), 1e-9)).toFixed(2)}`,
);
console.log(`\nmisheard on the phone (${misses.length}):\n${misses.slice(0, 15).join('\n')}`);
process.exit(0);
