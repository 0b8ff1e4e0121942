import { randomUUID } from 'node:crypto';
import type { ReplyChunk, TokenUsage } from '../domain/provider.js';
import type { ToolBox, ToolCall, ToolResult } from '../domain/tools.js';

/**
 * Runs the calls of one model turn in order, yielding a `handoff` chunk for
 * each that asks for a human, and returns their results for the next turn.
 */
export async function* runToolCalls(
  calls: ToolCall[],
  tools: ToolBox | undefined,
): AsyncGenerator<ReplyChunk, ToolResult[]> {
  const results: ToolResult[] = [];
  for (const call of calls) {
    const result = tools
      ? await tools.run(call)
      : { content: 'Tools are not available right now', error: true };
    yield { type: 'tool', name: call.name, error: result.error === true };
    if (result.handoff) yield { type: 'handoff', reason: result.handoff };
    results.push(result);
  }
  return results;
}

/** A call id for providers whose calls have none. */
export function callId(given: string | undefined | null): string {
  return given || `call_${randomUUID().replaceAll('-', '').slice(0, 24)}`;
}

/** Token usage summed over the turns of one answer. */
export class UsageTotal {
  inputTokens = 0;
  outputTokens = 0;
  add(usage: Partial<TokenUsage>): void {
    this.inputTokens += usage.inputTokens ?? 0;
    this.outputTokens += usage.outputTokens ?? 0;
  }
  chunk(): ReplyChunk {
    return {
      type: 'usage',
      usage: { inputTokens: this.inputTokens, outputTokens: this.outputTokens },
    };
  }
}
