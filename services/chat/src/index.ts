/**
 * Chat as a module: mount {@link chatModule} on an app whose `app.ports` an
 * infrastructure plugin provided, with {@link chatFields}. `@parley/chat`.
 */
export { chatModule, type ChatModuleOptions } from './module.js';
export { chatFields, type ChatSettings } from './config.js';
