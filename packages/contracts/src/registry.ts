import { randomUUID } from 'node:crypto';
import type { z } from 'zod';
import { envelopeSchema, type Envelope, type Event } from './envelope.js';

/** One version of one event type's payload. */
export interface EventDefinition<P = unknown> {
  type: string;
  version: number;
  payload: z.ZodType<P>;
}

/** What a consumer does with a message, decided by {@link EventRegistry.decode}. */
export type DecodeResult =
  | { kind: 'ok'; event: Event }
  /** Not JSON, not a valid envelope, or a payload that fails its schema: dead-letter it. */
  | { kind: 'invalid'; reason: string; envelope?: Envelope }
  /** A type this consumer has never heard of: skip it and commit (VERSIONING.md rule 3). */
  | { kind: 'unknown_type'; envelope: Envelope }
  /** A newer version than this consumer knows: dead-letter it for replay after upgrade (rule 4). */
  | { kind: 'newer_version'; envelope: Envelope; newestKnown: number };

/**
 * The event types and payload versions a service understands. Producers
 * validate before sending; consumers decode into one of four outcomes.
 */
export class EventRegistry {
  private readonly defs = new Map<string, Map<number, EventDefinition>>();

  constructor(definitions: readonly EventDefinition[]) {
    for (const def of definitions) {
      const versions = this.defs.get(def.type) ?? new Map<number, EventDefinition>();
      if (versions.has(def.version))
        throw new Error(`${def.type} v${def.version} is defined twice`);
      versions.set(def.version, def);
      this.defs.set(def.type, versions);
    }
  }

  /** Whether `type` is one of this registry's (any version): consumers pass over the others undecoded. */
  knows(type: string): boolean {
    return this.defs.has(type);
  }

  /** Builds a validated envelope with a fresh event id and the current time. */
  create<P>(
    def: EventDefinition<P>,
    fields: {
      conversationId: string;
      tenantId: string;
      payload: P;
      occurredAt?: Date;
      trace?: Envelope['trace'];
    },
  ): Event<P> {
    const envelope = envelopeSchema.parse({
      event_id: randomUUID(),
      type: def.type,
      schema_version: def.version,
      conversation_id: fields.conversationId,
      tenant_id: fields.tenantId,
      occurred_at: (fields.occurredAt ?? new Date()).toISOString(),
      trace: fields.trace ?? {},
      payload: def.payload.parse(fields.payload),
    });
    return envelope as Event<P>;
  }

  /** Parses raw message bytes and classifies them; never throws. */
  decode(raw: Buffer | string | null): DecodeResult {
    if (raw === null) return { kind: 'invalid', reason: 'empty message (tombstone)' };
    let json: unknown;
    try {
      json = JSON.parse(typeof raw === 'string' ? raw : raw.toString('utf8'));
    } catch {
      return { kind: 'invalid', reason: 'not JSON' };
    }
    const parsed = envelopeSchema.safeParse(json);
    if (!parsed.success)
      return { kind: 'invalid', reason: `bad envelope: ${summarize(parsed.error)}` };
    const envelope = parsed.data;
    const versions = this.defs.get(envelope.type);
    if (!versions) return { kind: 'unknown_type', envelope };
    const def = versions.get(envelope.schema_version);
    if (!def) {
      const newestKnown = Math.max(...versions.keys());
      if (envelope.schema_version > newestKnown)
        return { kind: 'newer_version', envelope, newestKnown };
      return {
        kind: 'invalid',
        reason: `${envelope.type} v${envelope.schema_version} is no longer supported`,
        envelope,
      };
    }
    const payload = def.payload.safeParse(envelope.payload);
    if (!payload.success) {
      return {
        kind: 'invalid',
        reason: `bad ${envelope.type} v${def.version} payload: ${summarize(payload.error)}`,
        envelope,
      };
    }
    return { kind: 'ok', event: { ...envelope, payload: payload.data } };
  }
}

function summarize(error: z.ZodError): string {
  return error.issues
    .slice(0, 3)
    .map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`)
    .join('; ');
}
