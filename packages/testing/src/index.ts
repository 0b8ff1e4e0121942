/**
 * Helpers for Parley's tests.
 *
 * ```ts
 * import { infraEnv, uniqueName, eventually, TestClock } from '@parley/testing';
 * const { kafkaBrokers } = infraEnv(); // throws with the command to run when infra is down
 * ```
 */
export { infraEnv, uniqueName, eventually, expectEventually, type InfraEnv } from './infra.js';
export {
  startServiceProcess,
  serviceEntry,
  type ServiceProcess,
  type StartServiceOptions,
} from './service-process.js';
export { serviceProcessSuite, serviceEnv, type ServiceSuiteOptions } from './service-suite.js';
export {
  WidgetClient,
  createSession,
  openSocket,
  type Frame,
  type SessionResponse,
  type WidgetClientOptions,
} from './widget-client.js';
export {
  startFakeLlm,
  type FakeLlm,
  type FakeLlmBehaviour,
  type FakeLlmRequest,
} from './fake-llm.js';
export { CHROMIUM } from './chromium.js';
export { axeViolations, type AxeViolation, type EvaluatingPage } from './axe.js';
export {
  FakeTwilioCall,
  TEST_AUTH_TOKEN,
  TEST_PUBLIC_URL,
  incoming as twilioIncoming,
  streamParameters,
  type TwilioMessage,
} from './twilio-call.js';
export {
  startPgCluster,
  pgQuery,
  freePort,
  STANDBY_NAME,
  type PgCluster,
  type PgNode,
} from './pg-cluster.js';
export { TestClock, type TestTimer } from './test-clock.js';
export { fuzzCorpus, hostileText } from './fuzz.js';
export { wordErrors, words } from './word-errors.js';
export { upgradeAnswer, resetUpgrade, type UpgradeAnswer } from './upgrade.js';
export {
  ResumingWidget,
  type ResumingWidgetOptions,
  type SentMessage,
  type Reconnect,
} from './resuming-widget.js';
export {
  startToxiproxy,
  startRedisServer,
  startKafkaBroker,
  startTcpBalancer,
  type ToxiproxyServer,
  type FaultProxy,
  type RedisServer,
  type KafkaBroker,
  type TcpBalancer,
} from './faults.js';
export { makeTestCa, type TestCa } from './test-ca.js';
