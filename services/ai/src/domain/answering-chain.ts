import type { DegradationLevel } from './degradation.js';
import { FALLBACK_ANSWER, STATIC_ANSWERS } from './faq.js';
import type { OfflineProvider } from './offline-provider.js';
import {
  AllProvidersFailedError,
  collect,
  type Reply,
  type ReplyChunk,
  type ReplyRequest,
  type StreamingProvider,
  type TenantRule,
} from './provider.js';
import type { ResponseCache } from './response-cache.js';
import type { ToolRegistry } from './tools.js';
import type { IntentClassifier } from './intent.js';
import { soundsUnsure } from './confidence.js';
import {
  citedSources,
  confidentPassages,
  type KnowledgePassage,
  type KnowledgeSearch,
} from './knowledge.js';

/** What the chain is made of. */
export interface AnsweringChainParts {
  /** The model router; absent without LLM keys (the offline FAQ answers). */
  router?: StreamingProvider;
  cache: ResponseCache;
  offline: OfflineProvider;
  /** The current degradation level. @default always L0 */
  level?: () => DegradationLevel;
  /** Tools the models may call (actions only below L3). */
  tools?: ToolRegistry;
  /** Tells when the user asks for a person (then nobody else answers). */
  intents?: IntentClassifier;
  /** The tenant's knowledge base: passages at least this similar are answered from. */
  knowledge?: {
    search: KnowledgeSearch;
    minSimilarity: number;
    /** Called when a search fails (the answer goes on without passages). */
    onFailure?: (err: unknown) => void;
  };
}

/** Sources whose answer is whole at once (nothing to stream). */
export const INSTANT_SOURCES: ReadonlySet<string> = new Set([
  'cache',
  'template',
  'static',
  'offline',
  'intent',
]);

/**
 * How the AI service answers, so that the end user always gets an answer.
 * At L0, L2 and L3: a context-free question already answered comes from the
 * response cache; otherwise the model router streams the answer (and it is
 * cached). When every provider failed, the design's backup responses in order:
 * a cached answer to the same question, a template (an FAQ match), then a
 * static apology that hands the conversation to a human. A stream that broke
 * midway is marked `incomplete` before the backup answer follows.
 *
 * A user who asks for a person is handed over first (see {@link IntentClassifier}).
 * The level changes that: L1 tries templates before the models and hands over
 * sooner; L2 switches retrieval off and L3 action tools; L4 hands every
 * question to a human; L5 asks for callback details.
 */
export class AnsweringChain implements StreamingProvider {
  readonly name = 'chain';

  constructor(private readonly parts: AnsweringChainParts) {}

  reply(request: ReplyRequest): Promise<Reply> {
    return collect(this.stream(request));
  }

  async *stream(request: ReplyRequest): AsyncIterable<ReplyChunk> {
    const { router, cache, offline } = this.parts;
    const level = this.parts.level?.() ?? 'L0';
    if (level === 'L4') return yield* staticAnswer(STATIC_ANSWERS.humanOnly, 'degraded');
    if (level === 'L5') return yield* staticAnswer(STATIC_ANSWERS.callback, 'degraded');
    // The tenant's own rules first: a VIP customer not yet helped by a person
    // in this conversation, and the tenant's keywords, go straight to a person.
    if (request.customerVip && !request.history.some((turn) => turn.role === 'agent'))
      return yield* handover('tenant_rule', 'vip');
    const lowered = request.text.toLowerCase();
    if (request.settings?.handoff_keywords?.some((k) => lowered.includes(k.toLowerCase())))
      return yield* handover('tenant_rule', 'keyword');
    if (this.parts.intents && (await this.parts.intents.humanRequested(request)).asked)
      return yield* handover('user_request');
    // Retrieval (RAG), unless knowledge is degraded (L2): only confident passages are used.
    const retrieved = await this.retrieve(request, level);
    request = { ...request, ...retrieved };
    if (!router) {
      const answer = await offline.reply(request);
      // The FAQ failed this visitor twice in a row: a person takes over (the bot failed repeatedly).
      if (answer.text === FALLBACK_ANSWER && request.history.at(-1)?.text === FALLBACK_ANSWER)
        return yield* staticAnswer(STATIC_ANSWERS.escalate, 'bot_unavailable');
      yield { type: 'provider', name: offline.name };
      yield* texts(answer);
      if (answer.sources?.length) yield { type: 'sources', sources: answer.sources };
      return;
    }
    const actions = (request.actions ?? true) && level !== 'L3';
    const tools =
      request.settings?.tools === false
        ? undefined
        : this.parts.tools?.toolBox(
            {
              tenantId: request.tenantId,
              conversationId: request.conversationId,
              signal: request.signal,
            },
            { actions },
          );
    const asked: ReplyRequest = {
      ...request,
      knowledge: (request.knowledge ?? true) && level !== 'L2',
      actions,
      ...(tools ? { tools } : {}),
    };
    if (request.history.length === 0) {
      const hit = await cache.lookup(request);
      if (hit) return yield* instant('cache', hit.text);
    }
    const template = offline.template(request.text);
    if (level === 'L1' && template) return yield* instant('template', template);

    let text = '';
    let cacheable = true;
    let handedOver = false;
    try {
      for await (const chunk of router.stream(asked)) {
        if (chunk.type === 'text') text += chunk.text;
        if (chunk.type === 'incomplete') text = '';
        // An answer that used a tool or hands over depends on more than the question.
        if (chunk.type === 'tool' || chunk.type === 'handoff') cacheable = false;
        if (chunk.type === 'handoff') handedOver = true;
        yield chunk;
      }
    } catch (err) {
      if (request.signal.aborted) throw err;
      if (err instanceof AllProvidersFailedError && err.partial)
        yield { type: 'incomplete', reason: 'every provider failed midway through the answer' };
      const cached = await cache.lookup(request);
      if (cached) return yield* instant('cache', cached.text);
      if (template && level !== 'L1') return yield* instant('template', template);
      return yield* staticAnswer(
        level === 'L1' ? STATIC_ANSWERS.escalate : STATIC_ANSWERS.apology,
        level === 'L1' ? 'degraded' : 'bot_unavailable',
      );
    }
    // The model admitted it does not know: a person checks (unless the tenant opted out).
    if (!handedOver && request.settings?.low_confidence_handoff !== false && soundsUnsure(text)) {
      yield { type: 'text', text: `\n\n${STATIC_ANSWERS.unsure}` };
      yield { type: 'handoff', reason: 'low_confidence' };
      return;
    }
    // The sources the answer cites; an answer from the knowledge base is not cached (its sources would be lost).
    const sources = citedSources(text, request.passages ?? []);
    if (sources.length > 0) yield { type: 'sources', sources };
    if (cacheable && !request.passages?.length) await cache.store(request, { text });
  }

  /** Confident passages for the question, and the tenant's knowledge version; nothing at L2 or on failure. */
  private async retrieve(
    request: ReplyRequest,
    level: DegradationLevel,
  ): Promise<{ passages?: KnowledgePassage[]; knowledgeVersion?: number }> {
    const knowledge = this.parts.knowledge;
    if (!knowledge || request.knowledge === false || level === 'L2') return {};
    try {
      const found = await knowledge.search.search(request.tenantId, request.text, request.signal);
      const passages = confidentPassages(request.text, found.passages, knowledge.minSimilarity);
      return { passages, knowledgeVersion: found.version };
    } catch (err) {
      if (request.signal.aborted) throw err;
      knowledge.onFailure?.(err);
      return {};
    }
  }
}

function* instant(source: string, text: string): Iterable<ReplyChunk> {
  yield { type: 'provider', name: source };
  yield { type: 'text', text };
}

function* staticAnswer(text: string, reason: 'degraded' | 'bot_unavailable'): Iterable<ReplyChunk> {
  yield* instant('static', text);
  yield { type: 'handoff', reason };
}

function* handover(
  reason: 'user_request' | 'tenant_rule',
  rule?: TenantRule,
): Iterable<ReplyChunk> {
  yield* instant('intent', rule === 'vip' ? STATIC_ANSWERS.vip : STATIC_ANSWERS.handover);
  yield rule ? { type: 'handoff', reason, rule } : { type: 'handoff', reason };
}

function* texts(reply: Reply): Iterable<ReplyChunk> {
  yield { type: 'text', text: reply.text };
  if (reply.usage) yield { type: 'usage', usage: reply.usage };
}
