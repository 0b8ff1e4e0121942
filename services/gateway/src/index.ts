/**
 * The gateway as a module: mount {@link gatewayModule} on an app whose
 * `app.ports` an infrastructure plugin provided, with {@link gatewayFields}.
 * `@parley/gateway`; the widget protocol's parsers, without the server, are
 * `@parley/gateway/protocol`.
 */
export { gatewayModule, type Gateway, type GatewayModuleOptions } from './module.js';
export { gatewayFields, DEFAULT_STATUS_COMPONENTS, type GatewaySettings } from './config.js';
