import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** The gateway's own metrics (the chat service's `active_sessions` feeds the chat HPA). */
export interface GatewayMetrics {
  activeSessions: Gauge;
  messagesIn: Counter;
  messagesOut: Counter;
  latency: Histogram;
  refused: Counter<'code'>;
}

/** Registers the gateway metrics on `registry`. */
export function gatewayMetrics(registry: Registry): GatewayMetrics {
  const registers = [registry];
  return {
    activeSessions: new Gauge({
      name: 'gateway_open_sockets',
      help: 'Open widget WebSocket sessions on this pod',
      registers,
    }),
    messagesIn: new Counter({
      name: 'gateway_messages_in_total',
      help: 'User messages accepted onto the bus',
      registers,
    }),
    messagesOut: new Counter({
      name: 'gateway_messages_out_total',
      help: 'Message frames sent to widgets (live and replayed)',
      registers,
    }),
    latency: new Histogram({
      name: 'gateway_message_e2e_latency_seconds',
      help: 'From a user message reaching the gateway to its reply leaving it',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    }),
    refused: new Counter({
      name: 'gateway_refused_total',
      help: 'Requests and connections refused, by error code',
      labelNames: ['code'],
      registers,
    }),
  };
}
