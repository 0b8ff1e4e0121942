/**
 * Data safety: integrity checks, base backups with WAL archiving, point-in-time
 * restore, verify, and Postgres failover (promote, the automatic policy, rejoin, synchronous replication).
 */
export { CHECKS, type IntegrityCheck } from './checks.js';
export {
  runChecks,
  failed,
  resultMetrics,
  pushResults,
  type CheckResult,
  type Queryable,
} from './run.js';
export {
  createBackup,
  listBackups,
  findBackup,
  restoreBackup,
  verifyBackup,
  pruneBackups,
  startRestored,
  stopRestored,
  RETENTION,
  type BackupManifest,
  type PgTools,
} from './backup.js';
export {
  DirectoryStorage,
  S3Storage,
  storageFromEnv,
  type BackupStorage,
  type S3StorageOptions,
} from './storage.js';
export { walPush, walFetch } from './wal.js';
export { WalStream, dropWalSlot, WAL_SLOT, type WalStreamOptions } from './wal-stream.js';
export { exportTenant, TENANT_TABLES } from './export.js';
export { importTenant, RESTORED_AGENT_HASH, type ImportResult } from './import.js';
export {
  nodeStatus,
  promote,
  watch,
  rejoin,
  setSynchronous,
  lsnBytes,
  STANDBY_NAME,
  type NodeStatus,
  type PromoteResult,
  type WatchEvent,
  type RejoinResult,
} from './failover.js';
export {
  regionFailover,
  regionFailback,
  runHook,
  STATUS_TEMPLATES,
  type StepResult,
  type RegionHooks,
  type RegionFailoverOptions,
  type RegionFailbackOptions,
} from './region.js';
export {
  snapshotRedis,
  backupRedis,
  listRedisSnapshots,
  restoreRedis,
  pruneRedisSnapshots,
  REDIS_RETENTION_DAYS,
  type RedisSnapshotManifest,
} from './redis-snapshot.js';
