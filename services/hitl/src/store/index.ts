/**
 * The hitl service's SQL stores, one per group of tables, each on the
 * database port: handoffs (the queue), agents, callbacks, and the tenants'
 * handoff settings. `rows.ts` holds the records they share.
 */
import type { SqlDatabase } from '@parley/ports';
import { AgentStore } from './agent-store.js';
import { CallbackStore } from './callback-store.js';
import { HandoffStore } from './handoff-store.js';
import { HitlSettingsStore } from './settings-store.js';

export { AgentStore } from './agent-store.js';
export { CallbackStore, type Callback } from './callback-store.js';
export { HandoffStore, type HandoffRefusal, type QueuedHandoff } from './handoff-store.js';
export { HitlSettingsStore } from './settings-store.js';
export type { Agent, Handoff } from './rows.js';

/** One of each hitl store, on the same database. */
export interface HitlStores {
  handoffs: HandoffStore;
  agents: AgentStore;
  callbacks: CallbackStore;
  hitlSettings: HitlSettingsStore;
}

/** The hitl stores on `db`. */
export function createHitlStores(db: SqlDatabase): HitlStores {
  return {
    handoffs: new HandoffStore(db),
    agents: new AgentStore(db),
    callbacks: new CallbackStore(db),
    hitlSettings: new HitlSettingsStore(db),
  };
}
