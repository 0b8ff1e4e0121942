import { z } from 'zod';
import { languageSchema } from '@parley/contracts';
import type { Agent, Callback, Handoff } from '../store/index.js';

/**
 * What the hitl routes answer with, for their OpenAPI description (route
 * schemas describe; nothing validates replies). The rows the stores return
 * (`store/rows.ts`, `callback-store.ts`): the type checks below fail to
 * compile when one and its schema part ways.
 */

export const agentSchema = z.object({
  tenantId: z.string(),
  id: z.string(),
  email: z.string(),
  name: z.string(),
  maxConcurrent: z.number().int(),
  skills: z.array(z.string()).describe('Queues the agent takes besides `general`'),
  languages: z.array(languageSchema).describe('Languages the agent takes (empty: any)'),
});

/** An agent as the team lists show it: present now (console connected), and its held conversations. */
export const teamMemberSchema = agentSchema.extend({
  present: z.boolean(),
  held: z.number().int(),
});

const timestamp = z.string().describe('ISO 8601');

export const handoffSchema = z.object({
  tenantId: z.string(),
  id: z.string(),
  conversationId: z.string(),
  reason: z.string(),
  queue: z.string(),
  language: z.string().nullable(),
  priority: z.number().int(),
  status: z.enum(['queued', 'assigned', 'closed']),
  agentId: z.string().nullable(),
  requestedAt: timestamp,
  assignedAt: timestamp.nullable(),
  closedAt: timestamp.nullable(),
  escalatedAt: timestamp.nullable().describe('When it waited past the SLA, or null'),
});

export const callbackSchema = z.object({
  id: z.string(),
  conversationId: z.string(),
  contactKind: z.enum(['phone', 'email']),
  contact: z.string(),
  note: z.string().nullable(),
  status: z.enum(['open', 'done']),
  createdAt: timestamp,
  doneAt: timestamp.nullable(),
  doneBy: z.string().nullable(),
});

type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const agreed = <T extends true>(value: T): T => value;
agreed<Same<z.output<typeof agentSchema>, Agent>>(true);
agreed<Same<z.output<typeof handoffSchema>, Handoff>>(true);
agreed<Same<z.output<typeof callbackSchema>, Callback>>(true);
