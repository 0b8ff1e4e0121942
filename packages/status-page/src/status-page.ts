import type { Incident } from './domain/incidents.js';
import {
  PROBE_COMPONENT,
  type BoardView,
  type ComponentState,
  type OverallState,
} from './domain/status-board.js';

/** The public names of the components (anything else shows its id). */
export const COMPONENT_NAMES: Readonly<Record<string, string>> = {
  gateway: 'Chat widget and API',
  chat: 'Conversations',
  ai: 'AI assistant',
  hitl: 'Human agents',
  embedding: 'Knowledge base',
  voice: 'Phone calls',
  [PROBE_COMPONENT]: 'Synthetic chat',
};

const OVERALL_TEXT: Record<OverallState, string> = {
  operational: 'All systems operational',
  degraded: 'Degraded service',
  partial_outage: 'Partial outage',
  major_outage: 'Major outage',
};

const STATE_TEXT: Record<ComponentState, string> = {
  operational: 'Operational',
  degraded: 'Degraded',
  outage: 'Outage',
  no_data: 'No data',
};

/**
 * What each degradation level means for someone chatting: the design's L0 to
 * L5 (docs/design/README.md#degradation-levels), in plain words.
 */
const LEVEL_TEXT: Record<string, string> = {
  L0: 'Normal service',
  L1: 'Answers may be slower; some come from prepared answers',
  L2: 'Answers without the help-center articles',
  L3: 'The assistant answers but cannot take actions',
  L4: 'Every question goes to a person',
  L5: 'Leave your contact details and we will call you back',
};

const STATUS_TEXT: Record<Incident['status'], string> = {
  investigating: 'Investigating',
  identified: 'Identified',
  monitoring: 'Monitoring',
  resolved: 'Resolved',
};

/**
 * The body of `GET /status.json`: component names and states, the level,
 * the probe's last run and the incidents' texts. Nothing else: no hosts,
 * instances, dependency errors or personal data.
 */
export interface StatusDocument {
  updatedAt: string;
  /** Some of it is last-known (reports or incidents could not be read). */
  stale: boolean;
  overall: OverallState;
  overallText: string;
  level: { level: string; text: string } | null;
  components: Array<{
    id: string;
    name: string;
    state: ComponentState;
    stateText: string;
    stale: boolean;
    /** The probe's row: its last run. */
    detail?: string;
  }>;
  incidents: Array<{
    id: string;
    title: string;
    status: Incident['status'];
    statusText: string;
    components: string[];
    createdAt: string;
    updatedAt: string;
    resolvedAt: string | null;
    updates: Array<{ status: Incident['status']; statusText: string; text: string; at: string }>;
  }>;
}

const clock = (iso: string) => `${iso.slice(0, 10)} ${iso.slice(11, 19)} UTC`;

/** Builds the public document from the board's view and the incidents. */
export function statusDocument(
  view: BoardView,
  incidents: { incidents: Incident[]; stale: boolean },
  now: Date,
): StatusDocument {
  return {
    updatedAt: now.toISOString(),
    stale: view.stale || incidents.stale,
    overall: view.overall,
    overallText: OVERALL_TEXT[view.overall],
    level: view.level ? { level: view.level, text: LEVEL_TEXT[view.level] ?? view.level } : null,
    components: view.components.map((c) => ({
      id: c.id,
      name: COMPONENT_NAMES[c.id] ?? c.id,
      state: c.state,
      stateText: STATE_TEXT[c.state],
      stale: c.stale,
      ...(c.id === PROBE_COMPONENT && view.probe
        ? {
            detail: view.probe.success
              ? `Last run ${clock(view.probe.at)}: answered in ${view.probe.latencySeconds.total.toFixed(2)} s`
              : `Last run ${clock(view.probe.at)}: failed`,
          }
        : {}),
    })),
    incidents: incidents.incidents.map((i) => ({
      id: i.id,
      title: i.title,
      status: i.status,
      statusText: STATUS_TEXT[i.status],
      components: i.components.map((c) => COMPONENT_NAMES[c] ?? c),
      createdAt: i.createdAt,
      updatedAt: i.updatedAt,
      resolvedAt: i.resolvedAt,
      // Newest first, as status pages read.
      updates: [...i.updates].reverse().map((u) => ({
        status: u.status,
        statusText: STATUS_TEXT[u.status],
        text: u.text,
        at: u.at,
      })),
    })),
  };
}

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** Text made safe for HTML content and quoted attributes. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

/**
 * The page `GET /status` serves: the document rendered on the server (it
 * reads without JavaScript), and `/status.js`, which polls `/status.json`
 * every `pollSeconds` and renders the same markup again.
 */
export function renderStatusPage(
  doc: StatusDocument,
  { pollSeconds }: { pollSeconds: number },
): string {
  const e = escapeHtml;
  const components = doc.components
    .map(
      (c) =>
        `<li class="component" data-component="${e(c.id)}" data-state="${c.state}"${c.stale ? ' data-stale="true"' : ''}>` +
        `<span class="name">${e(c.name)}</span><span class="state">${e(c.stateText)}</span>` +
        (c.detail ? `<span class="detail">${e(c.detail)}</span>` : '') +
        `</li>`,
    )
    .join('');
  const incidents = doc.incidents
    .map(
      (i) =>
        `<article class="incident" data-incident="${e(i.id)}" data-status="${i.status}">` +
        `<h3>${e(i.title)}</h3>` +
        `<p class="meta"><span class="status">${e(i.statusText)}</span>` +
        (i.components.length ? ` · affects ${e(i.components.join(', '))}` : '') +
        `</p><ol class="updates">` +
        i.updates
          .map(
            (u) =>
              `<li data-status="${u.status}"><time datetime="${e(u.at)}">${e(clock(u.at))}</time> ` +
              `<strong>${e(u.statusText)}</strong><p class="text">${e(u.text)}</p></li>`,
          )
          .join('') +
        `</ol></article>`,
    )
    .join('');
  const level = doc.level
    ? `Assistant: ${e(doc.level.text)} (${e(doc.level.level)})`
    : 'Assistant: no data';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Parley status</title>
<link rel="stylesheet" href="/status.css">
</head>
<body>
<main id="status" data-poll-seconds="${pollSeconds}">
<header>
<h1>Parley status</h1>
<p id="overall" data-state="${doc.overall}">${e(doc.overallText)}</p>
<p id="level" data-level="${e(doc.level?.level ?? '')}">${level}</p>
<p id="stale"${doc.stale ? '' : ' hidden'}>Some of this is the last known state: live updates are delayed.</p>
</header>
<section>
<h2>Components</h2>
<ul id="components">${components}</ul>
</section>
<section>
<h2>Incidents</h2>
<div id="incidents">${incidents}</div>
<p id="no-incidents"${doc.incidents.length ? ' hidden' : ''}>No incidents in the last 7 days.</p>
</section>
<footer>Updated <time id="updated" datetime="${e(doc.updatedAt)}">${e(clock(doc.updatedAt))}</time>; refreshes every ${pollSeconds} s. <a href="/status.json">JSON</a></footer>
</main>
<script src="/status.js" defer></script>
</body>
</html>
`;
}
