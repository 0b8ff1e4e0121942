/** The tenant admin API's client, for scripts and tests that would rather not spawn `parley-admin`. */
export {
  AdminApiError,
  AdminUnreachableError,
  TenantAdminClient,
  type TenantAdminClientOptions,
  type TenantFields,
  type TenantView,
  type WidgetKey,
} from './client.js';
