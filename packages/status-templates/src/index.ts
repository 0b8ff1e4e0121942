/**
 * The outage playbook's status-page texts (the design's templates, reworded
 * for Parley; docs/runbooks/outage-playbook.md), in one place for everything
 * that posts them: the gateway's incident API and `parley-dr region`'s notify
 * hook.
 *
 * ```ts
 * import { renderStatusTemplate } from '@parley/status-templates';
 * const text = renderStatusTemplate('update', { eta: '30 minutes' }, new Date());
 * // "[UPDATE] Parley chat: service disruption\n\nWe have identified the cause …"
 * ```
 */

/** The templates: the playbook's initial, progress and resolution texts, and the regional failover notice. */
export const STATUS_TEMPLATE_NAMES = ['investigating', 'update', 'resolved', 'failover'] as const;
export type StatusTemplateName = (typeof STATUS_TEMPLATE_NAMES)[number];

/**
 * What each template fills in. `subject` names the disruption in the
 * headline. @default 'service disruption'
 */
export interface StatusTemplateParams {
  investigating: { subject?: string };
  /** `eta`: when full service is expected ("30 minutes"). */
  update: { subject?: string; eta: string };
  /** `cause` and `resolution`: short phrases ("a full disk", "adding capacity"). */
  resolved: { subject?: string; cause: string; resolution: string };
  /** The region lost and the one serving now. */
  failover: { from: string; to: string };
}

/** The parameters each template requires (besides the optional `subject`), for validation at a boundary. */
export const STATUS_TEMPLATE_PARAMS: {
  readonly [K in StatusTemplateName]: ReadonlyArray<
    Exclude<keyof StatusTemplateParams[K], 'subject'>
  >;
} = {
  investigating: [],
  update: ['eta'],
  resolved: ['cause', 'resolution'],
  failover: ['from', 'to'],
};

const DEFAULT_SUBJECT = 'service disruption';

const RENDER: { [K in StatusTemplateName]: (p: StatusTemplateParams[K], at: string) => string } = {
  investigating: (p, at) =>
    `[OUTAGE] Parley chat: ${p.subject ?? DEFAULT_SUBJECT}\n\nWe are experiencing a disruption of the chat service. ` +
    `Our team is investigating and working to restore service as quickly as possible. ` +
    `Messages you send are kept and will be answered once service is restored.\n\n` +
    `We will post updates as we learn more.\n\nTime: ${at}`,
  update: (p, at) =>
    `[UPDATE] Parley chat: ${p.subject ?? DEFAULT_SUBJECT}\n\nWe have identified the cause and are restoring service. ` +
    `We expect full service within ${p.eta}.\n\nTime: ${at}`,
  resolved: (p, at) =>
    `[RESOLVED] Parley chat: ${p.subject ?? DEFAULT_SUBJECT}\n\nThe disruption has been resolved and all regions are operating normally. ` +
    `It was caused by ${p.cause} and resolved by ${p.resolution}.\n\nTime: ${at}`,
  failover: (p, at) =>
    `[DEGRADED] Parley chat: regional failover\n\nThe ${p.from} region is unavailable. Conversations continue from ${p.to}; ` +
    `messages sent in the last moments before the outage may need to be sent again, and replies may be slower while capacity scales up.\n\nTime: ${at}`,
};

/** The template's text with `params` filled in and `at` as its time (ISO 8601, UTC). */
export function renderStatusTemplate<K extends StatusTemplateName>(
  name: K,
  params: StatusTemplateParams[K],
  at: Date,
): string {
  return RENDER[name](params, at.toISOString());
}

/** Whether `name` is one of {@link STATUS_TEMPLATE_NAMES}. */
export function isStatusTemplateName(name: string): name is StatusTemplateName {
  return (STATUS_TEMPLATE_NAMES as readonly string[]).includes(name);
}

/**
 * The same texts as positional functions (the form `parley-dr region` has
 * always used).
 */
export const STATUS_TEMPLATES = {
  investigating: (at: Date, subject?: string) =>
    renderStatusTemplate('investigating', subject ? { subject } : {}, at),
  failover: (from: string, to: string, at: Date) =>
    renderStatusTemplate('failover', { from, to }, at),
  progress: (eta: string, at: Date) => renderStatusTemplate('update', { eta }, at),
  resolved: (cause: string, resolution: string, at: Date) =>
    renderStatusTemplate('resolved', { cause, resolution }, at),
} as const;
