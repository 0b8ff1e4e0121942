/**
 * Knowledge bases as a module: mount {@link knowledgeModule} on an app whose
 * `app.ports` an infrastructure plugin provided, with {@link knowledgeFields}.
 * `@parley/embedding`.
 */
export {
  knowledgeModule,
  buildEmbedder,
  type Knowledge,
  type KnowledgeModuleOptions,
} from './module.js';
export { knowledgeFields, type KnowledgeConfig } from './config.js';
export { KnowledgeErrors, type KnowledgeErrorCode } from './errors.js';
