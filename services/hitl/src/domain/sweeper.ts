import { EventRegistry, handoffTransferredV1 } from '@parley/contracts';
import type { Logger } from '@parley/observability';
import type { EventBus } from '@parley/ports';
import type { HandoffStore } from '../store/index.js';
import type { QueueAnnouncer } from './queue-announcer.js';
import type { Dispatcher } from './dispatcher.js';

/** Options for {@link HandoffSweeper}. */
export interface SweeperOptions {
  handoffs: HandoffStore;
  bus: EventBus;
  announcer: QueueAnnouncer;
  dispatcher?: Dispatcher;
  logger: Logger;
  /** An assignment without an agent reply by then goes back to the queue. @default 120000 */
  agentReplyTimeoutMs?: number;
  /** A handoff waiting longer is escalated (priority bump, marked in the console). @default 300000 */
  slaMs?: number;
  /** Each escalation: a handoff past its SLA, or an agent who did not reply (the metric). */
  onEscalated?: (kind: 'sla_breached' | 'no_agent_reply') => void;
  /** How often the timers are checked. @default 5000 */
  intervalMs?: number;
}

/**
 * The handoff timers, checked every few seconds against Postgres (so a
 * restart loses none, and replicas sweeping together change each row once):
 * an assigned conversation whose agent has not replied in time goes back to
 * the queue, ahead of others, with a `handoff.transferred` (reason
 * `no_reply`); a handoff waiting past the SLA is bumped once and marked
 * escalated (`escalatedAt`, shown in the console). Both are counted through
 * `onEscalated`.
 */
export class HandoffSweeper {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private readonly registry = new EventRegistry([handoffTransferredV1]);
  private endingsPrunedAt = 0;

  constructor(private readonly opts: SweeperOptions) {}

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      if (!this.running) this.running = this.sweep().finally(() => (this.running = undefined));
    }, this.opts.intervalMs ?? 5_000);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** One pass over both timers. */
  async sweep(): Promise<void> {
    const { handoffs, bus, announcer } = this.opts;
    const tenants = new Set<string>();
    try {
      for (const h of await handoffs.requeueUnanswered(this.opts.agentReplyTimeoutMs ?? 120_000)) {
        tenants.add(h.tenantId);
        const common = { conversationId: h.conversationId, tenantId: h.tenantId };
        await bus.publish(
          this.registry.create(handoffTransferredV1, {
            ...common,
            payload: {
              handoff_id: h.id,
              from_agent_id: h.previousAgentId,
              to: 'queue',
              queue: h.queue,
              reason: 'no_reply',
            },
          }),
        );
        this.opts.onEscalated?.('no_agent_reply');
        this.opts.logger.warn(
          { handoffId: h.id, agentId: h.previousAgentId },
          'No agent reply: requeued',
        );
      }
      for (const h of await handoffs.escalateOverdue(this.opts.slaMs ?? 300_000)) {
        tenants.add(h.tenantId);
        this.opts.onEscalated?.('sla_breached');
        this.opts.logger.warn({ handoffId: h.id }, 'Handoff past its SLA: escalated');
      }
      for (const tenantId of tenants) await announcer.changed(tenantId);
      // Hourly: ended calls are remembered a day (HandoffStore.endConversation).
      if (Date.now() - this.endingsPrunedAt >= 3_600_000) {
        this.endingsPrunedAt = Date.now();
        await handoffs.pruneEndings(86_400_000);
      }
      // Capacity may have freed up anywhere (agents came online, conversations closed).
      if (this.opts.dispatcher)
        for (const tenantId of await handoffs.tenantsWaiting())
          await this.opts.dispatcher.dispatch(tenantId);
    } catch (err) {
      this.opts.logger.error({ err }, 'Handoff timers not checked');
    }
  }
}
