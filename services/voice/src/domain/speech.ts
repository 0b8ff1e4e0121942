/**
 * The speech ports: recognition (speech to text) and synthesis (text to
 * speech). Audio crosses them as 16-bit PCM at 8 kHz, the telephone band;
 * adapters convert to and from what their provider speaks.
 */

/** What a call carries to whichever provider serves it (the standby gets the same). */
export interface SpeechContext {
  /** ISO 639-1 language of the call. */
  language: string;
  /** Words the caller is likely to say (the tenant's names and terms), as a hint. */
  prompt?: string;
  /** Voice name, for synthesis; each provider maps it or uses its default. */
  voice?: string;
  /** Cancels the request (the caller hung up or talked over the reply). */
  signal: AbortSignal;
}

export interface Transcriber {
  readonly name: string;
  /** The words in `audio` (8 kHz PCM); '' when there were none. */
  transcribe(audio: Int16Array, context: SpeechContext): Promise<string>;
}

/** One utterance's live recognition: audio goes in while the caller speaks. */
export interface TranscriptionStream {
  /** One frame of the utterance (8 kHz PCM), in order. */
  write(frame: Int16Array): void;
  /** The utterance is over: its words ('' when none). Rejects if the stream failed. */
  finish(): Promise<string>;
  /** Drops the stream (the call ended, or the caller's speech was taken otherwise). */
  abort(): void;
}

/** A recognizer that can also listen live (streaming speech to text). */
export interface StreamingTranscriber extends Transcriber {
  stream(context: SpeechContext): Promise<TranscriptionStream>;
}

export const canStream = (t: Transcriber): t is StreamingTranscriber =>
  typeof (t as Partial<StreamingTranscriber>).stream === 'function';

export interface Synthesizer {
  readonly name: string;
  /** `text` spoken, as 8 kHz PCM. */
  synthesize(text: string, context: SpeechContext): Promise<Int16Array>;
}

/** Sounds that are not words: a recognizer writes them for coughs, breaths and backchannels. */
const NOT_WORDS =
  /^[\s.,!?…-]*((m+-?h*m+|mm+-?hm+|uh+-?huh|u+h+|u+m+|h+m+|a+h+|o+h+|e+r+m*|\[[^\]]*\]|\([^)]*\)|♪+)[\s.,!?…-]*)*$/i;

/** Whether a transcript holds words (not only fillers such as "mhm", "uh-huh", "[cough]"). */
export function hasWords(transcript: string): boolean {
  return transcript.trim().length > 0 && !NOT_WORDS.test(transcript.trim());
}

const SENTENCES = new Intl.Segmenter('en', { granularity: 'sentence' });

/** Splits text into sentences to synthesize one at a time (the first plays while the next is made). */
export function sentences(text: string): string[] {
  return [...SENTENCES.segment(text.replace(/\s+/g, ' '))]
    .map((s) => s.segment.trim())
    .filter((s) => /[\p{L}\p{N}]/u.test(s));
}

/** Text as it should be read aloud: no Markdown, no bare links, citations dropped. */
export function speakable(text: string): string {
  return text
    .replace(/\[(\d+)\]/g, '')
    .replace(/\[([^\]]+)\]\((?:[^)]+)\)/g, '$1')
    .replace(/https?:\/\/\S+/g, 'the link in our help center')
    .replace(/[*_`#>|]+/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}
