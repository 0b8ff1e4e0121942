import { env, adminFields, type ConfigOf } from '@parley/config';

/** The components the status page shows by default: the six services. */
export const DEFAULT_STATUS_COMPONENTS = ['gateway', 'chat', 'ai', 'hitl', 'embedding', 'voice'];

/** The status page's settings; the host's configuration spreads them in. */
export const statusPageFields = {
  /** Operators' token for /admin/* (incidents, probe results); unset turns that API off. */
  ...adminFields,
  /** The components the status page lists, in order. */
  statusComponents: env.names('STATUS_COMPONENTS', { max: 20, default: DEFAULT_STATUS_COMPONENTS }),
  /** How often the status page refreshes itself. */
  statusPollSeconds: env.int('STATUS_PAGE_POLL_SECONDS', { min: 2, max: 300, default: 15 }),
};

/** The settings `statusPageModule` takes. */
export type StatusPageSettings = ConfigOf<typeof statusPageFields>;
