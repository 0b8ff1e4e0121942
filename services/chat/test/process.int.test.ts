import { serviceProcessSuite } from '@parley/testing';

serviceProcessSuite({
  service: 'chat',
  entry: new URL('../dist/main.js', import.meta.url).pathname,
  checks: ['postgres', 'redis', 'kafka'],
  // The chat HPA's metric (active sessions, 100 per pod in the design), and the replicas' lag
  // (the ParleyReplicaLag alert).
  metrics: ['active_sessions', 'pg_replica_lag_seconds'],
});
