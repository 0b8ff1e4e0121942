import type { Cache } from '@parley/ports';
import { cacheKey } from '@parley/contracts';
import type { Reply, ReplyRequest } from './provider.js';

/** Phrasings of prompt-injection attempts (case-insensitive). */
const INJECTION_PATTERNS: readonly RegExp[] = [
  /\b(ignore|disregard|forget|override)\b.{0,30}\b(previous|prior|above|earlier|all|your|the system)\b.{0,20}\b(instructions?|prompts?|rules|guidelines)\b/i,
  /\b(reveal|show|print|repeat|output|tell me|what (is|are))\b.{0,30}\b(system|hidden|initial|original)\s+(prompt|instructions?|message)\b/i,
  /\byou are (now|no longer)\b.{0,40}\b(assistant|ai|bot|model|dan|unrestricted|jailbroken)\b/i,
  /\b(developer|god|jailbreak|dan)\s+mode\b/i,
  /\bact as\b.{0,30}\b(without|no)\s+(restrictions|limits|rules|filters)\b/i,
  /<\/?\s*(system|instructions?)\s*>|\[\s*system\s*\]|#{2,}\s*system/i,
];

/** True when the text looks like an attempt to subvert the assistant's instructions. */
export function looksLikeInjection(text: string): boolean {
  const sample = text.length > 4_000 ? text.slice(0, 4_000) : text;
  return INJECTION_PATTERNS.some((p) => p.test(sample));
}

/** Word 6-grams of a text, lower-cased. */
function shingles(text: string, size = 6): Set<string> {
  const words = text.toLowerCase().match(/[\p{L}\p{N}']+/gu) ?? [];
  const out = new Set<string>();
  for (let i = 0; i + size <= words.length; i++) out.add(words.slice(i, i + size).join(' '));
  return out;
}

/** True when an answer repeats a run of six or more words of the system prompt. */
export function leaksSystemPrompt(answer: string, systemPrompt: string): boolean {
  const secret = shingles(systemPrompt);
  if (secret.size === 0) return false;
  for (const s of shingles(answer)) if (secret.has(s)) return true;
  return false;
}

/** What the guardrails answer instead of the model. */
export const SAFE_ANSWERS = {
  injection:
    'I can only help with questions about our products and your account. What can I help you with?',
  leak: 'Sorry, I cannot share that. Is there something else I can help you with?',
  budget:
    'Our assistant has reached its usage limit for today, so a person will pick up your question. Thank you for your patience.',
} as const;

/** Options for {@link Guardrails}. */
export interface GuardrailsOptions {
  cache: Cache;
  /** The system prompt the providers send (protected from leaking). */
  systemPrompt: string;
  /** Model tokens a tenant may use per UTC day; 0 means no limit. @default 0 */
  dailyTokenBudget?: number;
  now?: () => Date;
}

/**
 * Checks around every model call: prompt-injection heuristics on the input,
 * the tenant's daily token budget, system-prompt leak screening on the
 * output, and per-tenant usage recording (`parley:ai:usage:<tenant>:<day>`,
 * kept 8 days). Personal data never reaches the logs: the logger redacts,
 * and the guardrails log no text at all.
 */
export class Guardrails {
  constructor(private readonly options: GuardrailsOptions) {}

  /** A safe answer to send instead of calling a model, or null to go on. */
  async before(request: ReplyRequest): Promise<Reply | null> {
    if (looksLikeInjection(request.text))
      return { text: SAFE_ANSWERS.injection, provider: 'guardrails' };
    const budget = request.settings?.daily_token_budget ?? this.options.dailyTokenBudget ?? 0;
    if (budget > 0 && (await this.used(request.tenantId)) >= budget)
      return { text: SAFE_ANSWERS.budget, provider: 'budget' };
    return null;
  }

  /** The answer to send: the model's, unless it leaks the system prompt. Records the usage. */
  async after(request: ReplyRequest, reply: Reply): Promise<Reply> {
    if (reply.usage) {
      const tokens = reply.usage.inputTokens + reply.usage.outputTokens;
      await this.options.cache
        .increment(this.usageKey(request.tenantId), tokens, 8 * 86_400_000)
        .catch(() => undefined);
    }
    if (leaksSystemPrompt(reply.text, this.options.systemPrompt))
      return { ...reply, text: SAFE_ANSWERS.leak, provider: 'guardrails' };
    return reply;
  }

  /** True when `answer` (possibly partial) repeats the system prompt. */
  leaks(answer: string): boolean {
    return leaksSystemPrompt(answer, this.options.systemPrompt);
  }

  /** Tokens the tenant used today. */
  async used(tenantId: string): Promise<number> {
    const raw = await this.options.cache.get(this.usageKey(tenantId)).catch(() => null);
    return Number(raw ?? 0) || 0;
  }

  private usageKey(tenantId: string): string {
    const day = (this.options.now?.() ?? new Date()).toISOString().slice(0, 10);
    return cacheKey('ai:usage', tenantId, day);
  }
}
