// A candidate confidence rule for answering from the knowledge base, measured by
// knowledge-retrieval.mjs and not used by the product (see bench/README.md): the
// share of the question's content words a passage holds.

// Words that say nothing about what a question is about (en, de, fr, es), after normalising.
const STOPWORDS = new Set(
  (
    'the a an and or but if of to in on at by for from with about as is are was were be been being ' +
    'do does did done have has had i me my we our you your he she it its they them their this that these those ' +
    'what which who whom whose when where why how can could would should will shall may might must not no yes ' +
    'there here some any all more most so than too very just also get got please pls thanks thank hi hello hey ' +
    'want need know like im ive dont cant wont isnt ' +
    'der die das ein eine einen und oder aber ich du sie wir ihr mein meine mit von zu im in auf fur ist sind war ' +
    'wie was wo wann warum kann konnen bitte nicht kein hallo danke ' +
    'le la les un une des et ou mais je tu il elle nous vous ils mon ma mes de du au aux en dans sur pour avec est ' +
    'sont comment quoi quand pourquoi peux pouvez svp merci bonjour pas ne ' +
    'el los las unos unas y o pero yo tu mi mis nosotros con del al en por para es son como que cuando donde ' +
    'puedo puede gracias hola no'
  ).split(' '),
);

/** A text's content words: lower case, no accents, cut to 5 letters (a crude stem). */
function contentStems(text) {
  const words = text
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .replace(/['’]/g, '')
    .split(/[^\p{L}\p{N}]+/u);
  return new Set(words.filter((w) => w.length >= 3 && !STOPWORDS.has(w)).map((w) => w.slice(0, 5)));
}

/** The share of the question's content words the passage (title, heading, text) holds. */
export function questionCoverage(question, passage) {
  const asked = contentStems(question);
  if (asked.size === 0) return 0;
  const held = contentStems(`${passage.title} ${passage.heading} ${passage.text}`);
  let found = 0;
  for (const stem of asked) if (held.has(stem)) found++;
  return found / asked.size;
}
