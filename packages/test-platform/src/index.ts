/**
 * A platform for a test: the modules it names on the embedded ports, in this
 * process, on a free loopback port. Kept apart from `@parley/testing`, which
 * every package (the ports and the embedded adapters included) uses.
 *
 * ```ts
 * import { testPlatform } from '@parley/test-platform';
 * const platform = await testPlatform({ modules: [[gatewayModule, { settings }]] });
 * ```
 */
export {
  testPlatform,
  type TestPlatform,
  type TestPlatformOptions,
  type TestTenant,
  type TestEnv,
  type Mount,
  type MountContext,
} from './test-platform.js';
