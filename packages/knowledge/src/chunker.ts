import { convert } from 'html-to-text';
import { marked, type Token } from 'marked';

/** The formats a knowledge base takes. */
export const DOCUMENT_FORMATS = ['markdown', 'html', 'text'] as const;
export type DocumentFormat = (typeof DOCUMENT_FORMATS)[number];

/** A part of a document under one heading path (`['Billing', 'Refunds']`). */
export interface Section {
  headings: string[];
  text: string;
}

/** A piece of a document small enough to embed and to quote. */
export interface Chunk {
  /** Its place in the document, from 0. */
  ord: number;
  /** The headings it sits under, outermost first. */
  headings: string[];
  text: string;
}

/** Options for {@link chunkDocument}. */
export interface ChunkOptions {
  /** A chunk's target size in characters (a sentence longer than this is cut). @default 900 */
  maxChars?: number;
  /** Sentences repeated from the end of one chunk at the start of the next. @default 1 */
  overlapSentences?: number;
}

/**
 * Splits a document into its sections by heading: Markdown by its `#`
 * headings (through marked's lexer), HTML by h1-h6 (converted to text with
 * html-to-text first), plain text as one section. Text before the first
 * heading sits under the document's title.
 */
export function sectionsOf(format: DocumentFormat, content: string, title: string): Section[] {
  if (format === 'text') {
    const text = normalize(content);
    return text ? [{ headings: [title], text }] : [];
  }
  return format === 'html' ? htmlSections(content, title) : markdownSections(content, title);
}

function markdownSections(markdown: string, title: string): Section[] {
  const sections: Section[] = [];
  const path: string[] = [];
  let text: string[] = [];
  const flush = () => {
    const body = normalize(text.join('\n\n'));
    if (body) sections.push({ headings: [title, ...path.filter(Boolean)], text: body });
    text = [];
  };
  for (const token of marked.lexer(markdown)) {
    if (token.type === 'heading') {
      flush();
      const depth = (token as Token & { depth: number }).depth;
      path.length = depth - 1;
      path[depth - 1] = plain(token.text);
    } else if (token.type !== 'space' && token.type !== 'hr') {
      text.push(plain('text' in token && typeof token.text === 'string' ? token.text : token.raw));
    }
  }
  flush();
  return sections;
}

/** HTML: headings split sections; the rest is text (links' targets, images, scripts dropped). */
function htmlSections(html: string, title: string): Section[] {
  // Mark each heading (a private-use character) on a line html-to-text keeps as text.
  const tagged = html.replace(
    /<h([1-6])\b[^>]*>([\s\S]*?)<\/h\1>/gi,
    (_, level: string, inner: string) => `<p>\uE000H${level} ${inner}</p>`,
  );
  const text = convert(tagged, {
    wordwrap: false,
    selectors: [
      { selector: 'a', options: { ignoreHref: true } },
      { selector: 'img', format: 'skip' },
      { selector: 'nav', format: 'skip' },
      { selector: 'script', format: 'skip' },
      { selector: 'style', format: 'skip' },
    ],
  });
  const asMarkdown = text.replace(
    /\uE000H([1-6]) /g,
    (_, level: string) => `${'#'.repeat(Number(level))} `,
  );
  return markdownSections(asMarkdown, title);
}

/** Markdown inline syntax to plain text: links keep their words, emphasis and code marks go. */
function plain(text: string): string {
  return text
    .replace(/!\[[^\]]*\]\([^)]*\)/g, '')
    .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/(\*\*|__|\*|_|`)(\S(?:.*?\S)?)\1/g, '$2')
    .replace(/^\s{0,3}([-*+]|\d+[.)])\s+/gm, '')
    .replace(/^>\s?/gm, '');
}

function normalize(text: string): string {
  return text
    .replace(/\r\n?/g, '\n')
    .replace(/[ \t]+/g, ' ')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}

const sentences = new Intl.Segmenter('en', { granularity: 'sentence' });

/** A section's sentences (Unicode sentence boundaries), each cut to at most `max` characters. */
function sentencesOf(text: string, max: number): string[] {
  const out: string[] = [];
  for (const { segment } of sentences.segment(text)) {
    const s = segment.trim();
    if (!s) continue;
    for (let i = 0; i < s.length; i += max) out.push(s.slice(i, i + max));
  }
  return out;
}

/**
 * Chunks a document: sections never share a chunk (a heading starts a new
 * one), chunks end at sentence boundaries near `maxChars`, and each chunk
 * repeats the last `overlapSentences` sentences of the one before it, so a
 * passage cut in two is still found whole.
 */
export function chunkDocument(sections: Section[], options: ChunkOptions = {}): Chunk[] {
  const max = options.maxChars ?? 900;
  const overlap = options.overlapSentences ?? 1;
  const chunks: Chunk[] = [];
  for (const section of sections) {
    const all = sentencesOf(section.text, max);
    let start = 0;
    while (start < all.length) {
      let end = start;
      let size = 0;
      while (end < all.length && (end === start || size + all[end]!.length + 1 <= max)) {
        size += all[end]!.length + 1;
        end++;
      }
      chunks.push({
        ord: chunks.length,
        headings: section.headings,
        text: all.slice(start, end).join(' '),
      });
      if (end >= all.length) break;
      // Step back by the overlap, but always move on by at least one sentence.
      start = Math.max(start + 1, end - overlap);
    }
  }
  return chunks;
}
