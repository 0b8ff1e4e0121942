/**
 * Tenants, conversations and messages on any `SqlDatabase` (pg or PGlite).
 *
 * ```ts
 * await migrate(db); // from @parley/schema
 * const store = new ConversationStore(db);
 * const { message, created, position } = await store.appendMessage({ ... });
 * const missed = await store.messagesAfter(tenantId, conversationId, lastSeen, 100, { after: position });
 * ```
 */
export {
  ConversationStore,
  type Tenant,
  type ReplySettings,
  type StatePatch,
  type Conversation,
  type NewMessage,
  type Appended,
} from './store.js';
export { TenantStore, newWidgetKey, type TenantView, type TenantSettings } from './tenant-store.js';
export { SessionCache, type SessionState, type SessionCacheOptions } from './session-cache.js';
export { StoreError, isStoreError, type StoreErrorCode } from './errors.js';
