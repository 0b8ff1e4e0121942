/** Data safety: the integrity checks (the backup and restore commands come next). */
export { CHECKS, type IntegrityCheck } from './checks.js';
export {
  runChecks,
  failed,
  resultMetrics,
  pushResults,
  type CheckResult,
  type Queryable,
} from './run.js';
