/**
 * Human handoff as a module: mount {@link hitlModule} on an app whose
 * `app.ports` an infrastructure plugin provided, with {@link hitlFields}.
 * `@parley/hitl`.
 */
export { hitlModule, type Hitl, type HitlModuleOptions } from './module.js';
export { hitlFields, type HitlConfig } from './config.js';
export { HitlErrors, type HitlErrorCode } from './errors.js';
export {
  AgentStore,
  CallbackStore,
  HandoffStore,
  HitlSettingsStore,
  createHitlStores,
  type Agent,
  type Callback,
  type Handoff,
  type HandoffRefusal,
  type HitlStores,
  type QueuedHandoff,
} from './store/index.js';
