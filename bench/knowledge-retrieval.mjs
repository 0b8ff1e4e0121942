// Knowledge retrieval on the evaluation set (bench/knowledge: the demo
// knowledge base and questions each answered by one document), on PGlite with
// pgvector and the offline embedder:
//   quality    recall@5 and MRR of the lexical, vector and hybrid rankings
//              (ratio: hybrid against lexical, the baseline, same run);
//   ingestion  chunks per second for parse + chunk + embed + store, against
//              parse + chunk + embed alone (the baseline: what storing costs);
//   latency    p50/p99 per question of each ranking, against the lexical one;
//   answering  which passages the assistant would answer from (confidentPassages):
//              recall@5 of the in-scope questions' documents among them, and the
//              share of out-of-scope questions (knowledge/out-of-scope.json) that
//              would get an unrelated article, per confidence rule (baseline: the
//              similarity rule alone, as before issue 19).
//   pnpm --filter @parley/bench knowledge-retrieval [rounds=3]
import { readFile, readdir } from 'node:fs/promises';
import { ConversationStore } from '@parley/conversations';
import { migrate } from '@parley/schema';
import { PgliteDatabase } from '@parley/embedded';
import { confidentPassages, questionCoverage } from '@parley/ai';
import { emergencyDetector } from '@parley/ai';
import {
  KnowledgeIngestor,
  KnowledgeStore,
  OfflineEmbedder,
  chunkDocument,
  contentHash,
  embeddingText,
  sectionsOf,
} from '@parley/knowledge';

const rounds = Math.min(Number(process.argv[2] ?? 3), 20);
const docsDir = new URL('../packages/standalone/knowledge/', import.meta.url);
const questions = JSON.parse(
  await readFile(new URL('knowledge/questions.json', import.meta.url), 'utf8'),
);
const docs = [];
for (const file of (await readdir(docsDir)).filter((f) => f.endsWith('.md')).sort()) {
  const content = await readFile(new URL(file, docsDir), 'utf8');
  docs.push({
    id: file.replace(/\.md$/, ''),
    title: /^#\s+(.+)$/m.exec(content)?.[1] ?? file,
    content,
  });
}

const db = await PgliteDatabase.open();
await migrate(db);
await new ConversationStore(db).upsertTenant({
  id: 'bench',
  name: 'bench',
  widgetKey: 'pk_bench',
  allowedOrigins: [],
});
const store = new KnowledgeStore(db);
const embedder = new OfflineEmbedder();

// Ingestion: compute only (baseline), then the whole path.
let started = performance.now();
let chunks = 0;
for (let r = 0; r < rounds; r++)
  for (const doc of docs) {
    const parts = chunkDocument(sectionsOf('markdown', doc.content, doc.title));
    await embedder.embed(parts.map(embeddingText));
    chunks += parts.length;
  }
const computeRate = chunks / ((performance.now() - started) / 1000);
const ingestor = new KnowledgeIngestor({ store, embedder });
started = performance.now();
chunks = 0;
for (let r = 0; r < rounds; r++)
  for (const doc of docs) {
    // A new hash each round, so every round really ingests.
    const content = r === 0 ? doc.content : `${doc.content}\n\n<!-- round ${r} -->`;
    const hash = contentHash(content);
    await store.upsertDocument({
      tenantId: 'bench',
      id: doc.id,
      title: doc.title,
      format: 'markdown',
      content,
      contentHash: hash,
    });
    chunks += (await ingestor.ingest('bench', doc.id, hash)).chunks;
  }
const ingestRate = chunks / ((performance.now() - started) / 1000);

// Quality and latency per ranking.
const results = {};
for (const ranking of ['lexical', 'vector', 'hybrid']) {
  let hits = 0;
  let reciprocal = 0;
  const times = [];
  for (let r = 0; r < rounds; r++)
    for (const { question, document } of questions) {
      const t = performance.now();
      const [embedding] = ranking === 'lexical' ? [undefined] : await embedder.embed([question]);
      const passages = await store.search(
        'bench',
        { text: question, ...(embedding ? { embedding, model: embedder.model } : {}) },
        { ranking, limit: 5 },
      );
      times.push(performance.now() - t);
      if (r > 0) continue;
      const docsRanked = [...new Set(passages.map((p) => p.documentId))];
      const rank = docsRanked.indexOf(document) + 1;
      if (rank > 0) {
        hits++;
        reciprocal += 1 / rank;
      }
    }
  times.sort((a, b) => a - b);
  const pct = (p) => times[Math.min(times.length - 1, Math.floor((p / 100) * times.length))];
  results[ranking] = {
    recallAt5: hits / questions.length,
    mrr: reciprocal / questions.length,
    p50Ms: pct(50),
    p99Ms: pct(99),
  };
}
// Answering: what the assistant would answer from, per confidence rule.
const outOfScope = JSON.parse(
  await readFile(new URL('knowledge/out-of-scope.json', import.meta.url), 'utf8'),
);
const MIN_SIMILARITY = 0.3; // AI_KNOWLEDGE_MIN_SIMILARITY's default
const hybrid = async (question) => {
  const [embedding] = await embedder.embed([question]);
  return store.search(
    'bench',
    { text: question, embedding, model: embedder.model },
    { ranking: 'hybrid', limit: 5 },
  );
};
const inScope = [];
for (const q of questions) inScope.push({ ...q, passages: await hybrid(q.question) });
const outside = [];
for (const q of outOfScope) outside.push({ ...q, passages: await hybrid(q.question) });
// The assistant checks for an emergency before it searches: those questions never get an article.
const emergency = emergencyDetector();
const afterEmergency = (rule) => (q, ps) => (emergency.score(q).emergency ? [] : rule(q, ps));
// The rule before issue 19: similarity alone.
const similarEnough = (ps) =>
  ps.filter(
    (p) =>
      (p.similarity ?? 0) >= MIN_SIMILARITY ||
      (p.lexicalRank !== null && (p.similarity ?? 0) >= MIN_SIMILARITY / 2),
  );
const rules = [
  ['similarity only (before)', (q, ps) => similarEnough(ps)],
  ['emergencies first', afterEmergency((q, ps) => similarEnough(ps))],
  [
    '+ shares a content word (now)',
    afterEmergency((q, ps) => confidentPassages(q, ps, MIN_SIMILARITY)),
  ],
  ...[0.3, 0.4, 0.5, 0.6].map((c) => [
    `+ question coverage >= ${c}`,
    afterEmergency((q, ps) =>
      confidentPassages(q, ps, MIN_SIMILARITY).filter((p) => questionCoverage(q, p) >= c),
    ),
  ]),
];
const answering = {};
for (const [name, confident] of rules) {
  const right = inScope.filter(({ question, document, passages }) =>
    confident(question, passages).some((p) => p.documentId === document),
  ).length;
  const wrong = outside.filter(
    ({ question, passages }) => confident(question, passages).length > 0,
  );
  const byKind = {};
  for (const q of outside) {
    byKind[q.kind] ??= { n: 0, answered: 0 };
    byKind[q.kind].n++;
  }
  for (const q of wrong) byKind[q.kind].answered++;
  answering[name] = {
    recallAt5: right / inScope.length,
    unrelated: wrong.length / outside.length,
    byKind,
    wrong,
  };
}
await db.close();

const fmt = (n) => n.toFixed(3);
console.log(
  `knowledge retrieval: ${docs.length} documents, ${questions.length} questions, ${rounds} rounds, pgvector on PGlite, offline embedder`,
);
for (const [ranking, r] of Object.entries(results))
  console.log(
    `  ${ranking.padEnd(7)} recall@5 ${fmt(r.recallAt5)}  MRR ${fmt(r.mrr)}  p50 ${r.p50Ms.toFixed(2)} ms  p99 ${r.p99Ms.toFixed(2)} ms`,
  );
console.log(
  `  ratio hybrid/lexical: recall@5 ${fmt(results.hybrid.recallAt5 / results.lexical.recallAt5)}, MRR ${fmt(results.hybrid.mrr / results.lexical.mrr)}, p50 latency ${fmt(results.hybrid.p50Ms / results.lexical.p50Ms)}`,
);
console.log(
  `  ingestion ${ingestRate.toFixed(0)} chunks/s (parse + chunk + embed + store) vs ${computeRate.toFixed(0)} chunks/s without storing: ratio ${fmt(ingestRate / computeRate)}`,
);
console.log(
  `\n  answering from confident passages: ${questions.length} in-scope questions, ${outOfScope.length} out of scope`,
);
for (const [name, a] of Object.entries(answering))
  console.log(
    `    ${name.padEnd(30)} in-scope recall@5 ${fmt(a.recallAt5)}  out of scope answered with an article ${(100 * a.unrelated).toFixed(1)} % (` +
      Object.entries(a.byKind)
        .map(([kind, k]) => `${kind} ${k.answered}/${k.n}`)
        .join(', ') +
      ')',
  );
if (process.argv.includes('--misses'))
  for (const q of answering['+ shares a content word (now)'].wrong)
    console.log(`    still answered: [${q.kind}] ${q.question}`);
