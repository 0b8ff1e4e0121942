/**
 * Typed environment configuration, validated once at boot.
 *
 * ```ts
 * import { loadConfig, env, serviceFields } from '@parley/config';
 * const spec = { ...serviceFields, apiKey: env.string('OPENAI_API_KEY', { secret: true }) };
 * const config = loadConfig(spec, process.env); // throws ConfigError naming every bad variable
 * ```
 */
export { loadConfig, type ConfigSpec, type ConfigOf } from './load-config.js';
export { env, type Field, type FieldOptions } from './fields.js';
export { SigningKeys, parseSigningKeys, type SigningKey } from './signing-keys.js';
export { ConfigError, isConfigError, type ConfigProblem } from './errors.js';
export {
  serviceFields,
  kafkaFields,
  postgresFields,
  redisFields,
  adminFields,
  proxyFields,
  trustedHops,
} from './common.js';
