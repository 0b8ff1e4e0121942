import { z } from 'zod';

/** A tool call the model made. */
export interface ToolCall {
  /** The provider's id for the call (generated when the provider has none). */
  id: string;
  name: string;
  /** The arguments as the model wrote them (JSON text). */
  arguments: string;
}

/** What a tool returns to the model. */
export interface ToolResult {
  /** Text the model reads. */
  content: string;
  /** The conversation should go to a human (the `request_human` tool), and why. */
  handoff?: 'user_request' | 'low_confidence';
  /** The call was refused (bad arguments, unknown tool, failure); the model is told why. */
  error?: boolean;
}

/** A tool definition as the providers take it. */
export interface ToolDefinition {
  name: string;
  description: string;
  /** JSON Schema of the arguments object. */
  parameters: Record<string, unknown>;
}

/** What a tool is run with. */
export interface ToolContext {
  tenantId: string;
  conversationId: string;
  signal: AbortSignal;
  now?: () => Date;
}

/**
 * A tool the assistant may call. Tools should be idempotent: when a provider
 * fails after a tool ran, the next provider may call it again.
 */
export interface Tool<A extends z.ZodType = z.ZodType> {
  name: string;
  description: string;
  args: A;
  /** Changes something in a backend system (CRM/ERP): offered only while actions are allowed (below L3). */
  action: boolean;
  run(args: z.infer<A>, context: ToolContext): Promise<ToolResult>;
}

/** The tools offered in one answer, and how to run the calls the model makes. */
export interface ToolBox {
  definitions: ToolDefinition[];
  run(call: ToolCall): Promise<ToolResult>;
}

/** How many times one answer may go model → tools → model. */
export const MAX_TOOL_ROUNDS = 3;

/** Defines a tool with typed arguments. */
export function defineTool<A extends z.ZodType>(tool: Tool<A>): Tool<A> {
  return tool;
}

/** Hands the conversation to a human agent. */
export const requestHumanTool = defineTool({
  name: 'request_human',
  description:
    'Hand the conversation to a human support agent. Use it when the user asks for a person ' +
    '(kind "user_asked"), or when you are not confident you can answer correctly (kind ' +
    '"not_confident"). Then tell the user that a person will reply here.',
  args: z.object({
    reason: z.string().max(200).describe('Why a human is needed, in a few words'),
    kind: z
      .enum(['user_asked', 'not_confident'])
      .default('user_asked')
      .describe('user_asked: the user wants a person; not_confident: you are unsure of the answer'),
  }),
  action: false,
  run: async ({ kind }) => ({
    content:
      'A member of the support team has been asked to join. Tell the user a person will reply in this chat shortly.',
    handoff: kind === 'not_confident' ? 'low_confidence' : 'user_request',
  }),
});

/** The current date and time in a time zone (for "are you open now?"). */
export const currentTimeTool = defineTool({
  name: 'get_current_time',
  description: 'The current date and time, in an IANA time zone such as Europe/Paris.',
  args: z.object({
    timeZone: z.string().max(64).default('UTC').describe('IANA time zone, default UTC'),
  }),
  action: false,
  run: async ({ timeZone }, context) => {
    try {
      const format = new Intl.DateTimeFormat('en-GB', {
        timeZone,
        dateStyle: 'full',
        timeStyle: 'short',
      });
      return { content: `${format.format(context.now?.() ?? new Date())} (${timeZone})` };
    } catch {
      return { content: `Unknown time zone ${JSON.stringify(timeZone)}`, error: true };
    }
  },
});

/** The tools every tenant gets. */
export const BUILT_IN_TOOLS: readonly Tool[] = [requestHumanTool, currentTimeTool];

/**
 * The assistant's tools. `toolBox` offers the ones allowed now (no actions at
 * degradation L3 and worse) and runs calls with their arguments validated:
 * a bad or unknown call is answered with an error the model can read, never
 * thrown.
 */
export class ToolRegistry {
  private readonly tools = new Map<string, Tool>();

  constructor(tools: readonly Tool[] = BUILT_IN_TOOLS) {
    for (const tool of tools) {
      if (!/^[a-zA-Z0-9_-]{1,64}$/.test(tool.name))
        throw new RangeError(`tool name ${JSON.stringify(tool.name)} is not allowed`);
      if (this.tools.has(tool.name)) throw new RangeError(`tool ${tool.name} is defined twice`);
      this.tools.set(tool.name, tool);
    }
  }

  toolBox(context: ToolContext, options: { actions: boolean }): ToolBox | undefined {
    const offered = [...this.tools.values()].filter((t) => options.actions || !t.action);
    if (offered.length === 0) return undefined;
    const byName = new Map(offered.map((t) => [t.name, t]));
    return {
      definitions: offered.map((t) => ({
        name: t.name,
        description: t.description,
        parameters: jsonSchema(t.args),
      })),
      run: async (call) => {
        const tool = byName.get(call.name);
        if (!tool) return { content: `No tool named ${JSON.stringify(call.name)}`, error: true };
        let raw: unknown;
        try {
          raw = call.arguments.trim() ? JSON.parse(call.arguments) : {};
        } catch {
          return { content: 'The arguments are not valid JSON', error: true };
        }
        const args = tool.args.safeParse(raw);
        if (!args.success)
          return { content: `Invalid arguments: ${z.prettifyError(args.error)}`, error: true };
        try {
          return await tool.run(args.data, context);
        } catch (err) {
          return {
            content: `The tool failed: ${(err as Error).message}`.slice(0, 300),
            error: true,
          };
        }
      },
    };
  }
}

function jsonSchema(schema: z.ZodType): Record<string, unknown> {
  const out = z.toJSONSchema(schema, { io: 'input' }) as Record<string, unknown>;
  delete out.$schema;
  return out;
}
