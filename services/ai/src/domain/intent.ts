import type { ReplyProvider, ReplyRequest } from './provider.js';

/** Words without which a message is not taken as asking for a person (no model call then). */
const HUMAN_HINT =
  /\b(human|person|people|agent|someone|somebody|representative|operator|staff|real|live|manager|supervisor)\b/i;

/** The rule used when no model can decide: an explicit request for a person. */
const HUMAN_REQUEST =
  /\b(talk|speak|chat|connect|transfer|put me through|get me|want|need|give me)\b.{0,40}\b(human|person|agent|representative|operator|someone|somebody|staff|manager|supervisor)\b|^\s*(a )?(human|real person|live agent|agent|representative|operator)( please)?[\s.!]*$/i;

/** Options for {@link IntentClassifier}. */
export interface IntentClassifierOptions {
  /** The model router (absent without keys: the rule decides). */
  router?: ReplyProvider;
  /**
   * Longest a classification may take before the rule decides (the design's
   * intent timeout: 5 s). @default 5000
   */
  timeoutMs?: number;
}

/** Whether a message asks for a person, and who decided. */
export interface HumanRequest {
  asked: boolean;
  by: 'rule' | 'model';
}

/**
 * Tells whether the end user asks to talk to a person. Messages without a
 * telling word are not; the others go to a model as a short intent call (its
 * own 5 s limit, the router's `intent` purpose), and the rule decides when
 * the model cannot ("my antivirus agent crashed" mentions an agent but asks
 * for none).
 */
export class IntentClassifier {
  constructor(private readonly options: IntentClassifierOptions = {}) {}

  async humanRequested(request: ReplyRequest): Promise<HumanRequest> {
    const text = request.text.slice(0, 1_000);
    if (!HUMAN_HINT.test(text)) return { asked: false, by: 'rule' };
    const rule = HUMAN_REQUEST.test(text);
    const { router } = this.options;
    if (!router) return { asked: rule, by: 'rule' };
    // The caller's cancellation or the intent call's own limit, whichever comes first.
    const signal = AbortSignal.any([
      request.signal,
      AbortSignal.timeout(this.options.timeoutMs ?? 5_000),
    ]);
    try {
      const answer = await router.reply({
        tenantId: request.tenantId,
        conversationId: request.conversationId,
        history: [],
        purpose: 'intent',
        signal,
        text:
          'Classify the customer message between the markers. Does the customer ask to talk to ' +
          'a human (a person, an agent, a representative) instead of the assistant? ' +
          'Reply with exactly one word: yes or no.\n<<<\n' +
          text +
          '\n>>>',
      });
      const word = /\b(yes|no)\b/i.exec(answer.text)?.[1]?.toLowerCase();
      return word ? { asked: word === 'yes', by: 'model' } : { asked: rule, by: 'rule' };
    } catch (err) {
      if (request.signal.aborted) throw err;
      return { asked: rule, by: 'rule' };
    }
  }
}
