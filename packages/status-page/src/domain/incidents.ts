import {
  STATUS_TEMPLATE_PARAMS,
  renderStatusTemplate,
  type StatusTemplateParams,
} from '@parley/status-templates';

/** Where an incident stands (the status page's wording). */
export const INCIDENT_STATUSES = ['investigating', 'identified', 'monitoring', 'resolved'] as const;
export type IncidentStatus = (typeof INCIDENT_STATUSES)[number];

/** The playbook templates an incident's texts come from. */
export type IncidentTemplate = 'investigating' | 'update' | 'resolved';

/** One posted text of an incident's timeline. */
export interface IncidentUpdate {
  /** 1, 2, 3 … within the incident. */
  seq: number;
  template: IncidentTemplate;
  /** The incident's status from this update on. */
  status: IncidentStatus;
  text: string;
  at: string;
}

/** A platform-wide incident (not per tenant) with its timeline, oldest update first. */
export interface Incident {
  id: string;
  title: string;
  status: IncidentStatus;
  /** Components it affects (ids, as on the status board). */
  components: string[];
  createdAt: string;
  updatedAt: string;
  resolvedAt: string | null;
  updates: IncidentUpdate[];
}

/** What a change stores: the new status and the update that says so. */
export interface IncidentChange {
  status: IncidentStatus;
  update: Omit<IncidentUpdate, 'seq'>;
  updatedAt: string;
  resolvedAt: string | null;
}

/** Where incidents are kept (Postgres in the gateway; a map in tests). */
export interface IncidentStore {
  insert(incident: Incident): Promise<void>;
  /**
   * Applies `change` to the incident while holding it (so two operators
   * cannot both resolve it) and stores the result; `change` may throw, and
   * then nothing is stored. Null when there is no such incident.
   */
  change(id: string, change: (current: Incident) => IncidentChange): Promise<Incident | null>;
}

/** The incident errors an operator can get. */
export type IncidentErrorCode =
  'GW_ERR_INCIDENT_NOT_FOUND' | 'GW_ERR_INCIDENT_TEMPLATE' | 'GW_ERR_INCIDENT_RESOLVED';

/** A refused incident action, with a stable code. */
export class IncidentError extends Error {
  override readonly name = 'IncidentError';
  constructor(
    readonly code: IncidentErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** Type guard for {@link IncidentError}. */
export function isIncidentError(err: unknown): err is IncidentError {
  return err instanceof Error && err.name === 'IncidentError' && 'code' in err;
}

/** A text to post: a template's name and its parameters. */
export interface PostedText {
  template: string;
  params: Record<string, string>;
}

/** Options for {@link Incidents}. */
export interface IncidentsOptions {
  newId: () => string;
  now?: () => number;
}

/**
 * The incident lifecycle the outage playbook describes: opened with the
 * "investigating" text, updated with the "update" text (identified, then
 * monitoring), closed once with the "resolved" text. Every text is one of the
 * playbook's templates, filled with the operator's parameters.
 */
export class Incidents {
  private readonly now: () => number;

  constructor(
    private readonly store: IncidentStore,
    private readonly options: IncidentsOptions,
  ) {
    this.now = options.now ?? Date.now;
  }

  /** Opens an incident; its first text is the "investigating" template. */
  async open(input: { title: string; components: string[] } & PostedText): Promise<Incident> {
    const at = new Date(this.now());
    const text = fill('investigating', 'opening an incident', input, input.title, at);
    const incident: Incident = {
      id: this.options.newId(),
      title: input.title,
      status: 'investigating',
      components: [...new Set(input.components)],
      createdAt: at.toISOString(),
      updatedAt: at.toISOString(),
      resolvedAt: null,
      updates: [
        { seq: 1, template: 'investigating', status: 'investigating', text, at: at.toISOString() },
      ],
    };
    await this.store.insert(incident);
    return incident;
  }

  /** Posts progress with the "update" template. @default status 'identified' */
  update(
    id: string,
    input: PostedText & { status?: 'identified' | 'monitoring' },
  ): Promise<Incident> {
    return this.change(id, (current, at) => {
      const status = input.status ?? 'identified';
      return {
        status,
        update: {
          template: 'update',
          status,
          text: fill('update', 'an update', input, current.title, at),
          at: at.toISOString(),
        },
        updatedAt: at.toISOString(),
        resolvedAt: null,
      };
    });
  }

  /** Closes the incident with the "resolved" template; only once. */
  resolve(id: string, input: PostedText): Promise<Incident> {
    return this.change(id, (current, at) => ({
      status: 'resolved',
      update: {
        template: 'resolved',
        status: 'resolved',
        text: fill('resolved', 'resolving', input, current.title, at),
        at: at.toISOString(),
      },
      updatedAt: at.toISOString(),
      resolvedAt: at.toISOString(),
    }));
  }

  private async change(
    id: string,
    make: (current: Incident, at: Date) => IncidentChange,
  ): Promise<Incident> {
    const changed = await this.store.change(id, (current) => {
      if (current.status === 'resolved')
        throw new IncidentError(
          'GW_ERR_INCIDENT_RESOLVED',
          `incident ${id} is resolved; open a new one`,
        );
      return make(current, new Date(this.now()));
    });
    if (!changed) throw new IncidentError('GW_ERR_INCIDENT_NOT_FOUND', `no incident ${id}`);
    return changed;
  }
}

/** The template's text, after checking it is the one this action takes and its parameters are exactly the required ones. */
function fill<K extends IncidentTemplate>(
  expected: K,
  action: string,
  posted: PostedText,
  subject: string,
  at: Date,
): string {
  if (posted.template !== expected)
    throw new IncidentError(
      'GW_ERR_INCIDENT_TEMPLATE',
      `${action} takes the "${expected}" template, not "${posted.template}"`,
    );
  const required: readonly string[] = STATUS_TEMPLATE_PARAMS[expected];
  for (const name of required)
    if (!posted.params[name]?.trim())
      throw new IncidentError(
        'GW_ERR_INCIDENT_TEMPLATE',
        `the "${expected}" template needs params.${name}`,
      );
  for (const name of Object.keys(posted.params))
    if (!required.includes(name))
      throw new IncidentError(
        'GW_ERR_INCIDENT_TEMPLATE',
        `the "${expected}" template has no parameter ${name}`,
      );
  const params = { ...posted.params, subject } as unknown as StatusTemplateParams[K];
  return renderStatusTemplate(expected, params, at);
}
