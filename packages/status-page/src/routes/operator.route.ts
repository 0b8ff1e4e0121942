import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { ServiceError, parseInput, requireOperator } from '@parley/service-kit';
import { StatusPageErrors } from '../errors.js';
import {
  INCIDENT_STATUSES,
  isIncidentError,
  type Incident,
  type Incidents,
} from '../domain/incidents.js';
import type { BoardEntry, ProbeResult } from '../domain/status-board.js';
import { probeResultSchema, reportSchema } from '../board-feed.js';

/** One line of text, without control characters. */
const line = (max: number) =>
  z
    .string()
    .trim()
    .min(1)
    .max(max)
    .regex(/^[^\p{Cc}]*$/u, 'no control characters');

const params = z
  .record(z.string().regex(/^[a-z][A-Za-z]{0,31}$/), line(200))
  .refine((p) => Object.keys(p).length <= 8, 'at most 8 parameters')
  .default({});
const template = z.string().min(1).max(32);
const idParams = z.strictObject({ id: z.string().regex(/^[A-Za-z0-9._:-]{1,128}$/) });

/** An incident with its timeline (`Incident`), as the operators' API answers it. */
const incidentSchema = z.object({
  id: z.string(),
  title: z.string(),
  status: z.enum(INCIDENT_STATUSES),
  components: z.array(z.string()),
  createdAt: z.string(),
  updatedAt: z.string(),
  resolvedAt: z.string().nullable(),
  updates: z.array(
    z.object({
      seq: z.number().int(),
      template: z.enum(['investigating', 'update', 'resolved']),
      status: z.enum(INCIDENT_STATUSES),
      text: z.string(),
      at: z.string(),
    }),
  ),
});

/** Options for {@link operatorRoute}. */
export interface OperatorRouteOptions {
  /** Operators' bearer token (`PARLEY_ADMIN_TOKEN`); empty: these routes answer 404. */
  token: string;
  incidents: Incidents;
  /** Every incident changed in the last 90 days, from the primary. */
  listIncidents(): Promise<Incident[]>;
  /** The components an incident may name. */
  components: readonly string[];
  /** An operator's change happened: the page's copy is out of date. */
  onChanged(): void;
  /** Puts a probe run on every gateway's board. */
  recordProbe(result: ProbeResult, intervalSeconds: number): Promise<void>;
  /** The whole board (instances, dependencies, reasons), for operators. */
  board(): BoardEntry[];
}

/**
 * The operators' API on the gateway (bearer token, every call audited):
 * incidents, opened, updated and resolved with the playbook's templates, the
 * synthetic probe's results, and the raw status board.
 */
export async function operatorRoute(
  app: FastifyInstance,
  options: OperatorRouteOptions,
): Promise<void> {
  requireOperator(app, { token: options.token, codePrefix: 'GW' });
  const bad = 'GW_ERR_BAD_REQUEST';
  const component = z.enum(options.components as [string, ...string[]]);
  const createBody = z.strictObject({
    title: line(200),
    components: z.array(component).max(20).default([]),
    template,
    params,
  });
  const updateBody = z.strictObject({
    template,
    params,
    status: z.enum(['identified', 'monitoring']).optional(),
  });
  const resolveBody = z.strictObject({ template, params });
  const probeBody = probeResultSchema.extend({
    intervalSeconds: z.number().int().min(10).max(86_400).default(60),
  });

  /** Runs an incident action, turning its refusals into coded answers. */
  const act = async (action: () => Promise<Incident>) => {
    try {
      const incident = await action();
      options.onChanged();
      return incident;
    } catch (err) {
      if (isIncidentError(err))
        throw new ServiceError(err.code, err.message, StatusPageErrors[err.code], { cause: err });
      throw err;
    }
  };

  app.get(
    '/admin/incidents',
    {
      schema: {
        summary: 'Every incident changed in the last 90 days',
        response: { 200: z.object({ incidents: z.array(incidentSchema) }) },
      },
    },
    async () => ({ incidents: await options.listIncidents() }),
  );

  app.post(
    '/admin/incidents',
    {
      schema: {
        summary: "Opens an incident with one of the playbook's templates",
        body: createBody,
        response: { 201: incidentSchema },
      },
    },
    async (request, reply) => {
      const body = parseInput(createBody, request.body ?? {}, bad);
      const incident = await act(() => options.incidents.open(body));
      return reply.code(201).send(incident);
    },
  );

  app.post(
    '/admin/incidents/:id/updates',
    {
      schema: {
        summary: 'Posts an update to an incident',
        params: idParams,
        body: updateBody,
        response: { 200: incidentSchema },
      },
    },
    async (request) => {
      const { id } = parseInput(idParams, request.params, bad);
      const body = parseInput(updateBody, request.body ?? {}, bad);
      return act(() => options.incidents.update(id, body));
    },
  );

  app.post(
    '/admin/incidents/:id/resolve',
    {
      schema: {
        summary: 'Resolves an incident',
        params: idParams,
        body: resolveBody,
        response: { 200: incidentSchema },
      },
    },
    async (request) => {
      const { id } = parseInput(idParams, request.params, bad);
      const body = parseInput(resolveBody, request.body ?? {}, bad);
      return act(() => options.incidents.resolve(id, body));
    },
  );

  app.post(
    '/admin/probe-results',
    {
      schema: {
        summary: "A synthetic probe run (`parley-probe`), put on every gateway's board",
        body: probeBody,
        response: { 202: z.object({ accepted: z.literal(true) }) },
      },
    },
    async (request, reply) => {
      const { intervalSeconds, ...result } = parseInput(probeBody, request.body ?? {}, bad);
      await options.recordProbe(result, intervalSeconds);
      return reply.code(202).send({ accepted: true });
    },
  );

  app.get(
    '/admin/status/board',
    {
      schema: {
        summary: 'The raw status board: every fresh report (instances, dependencies, reasons)',
        response: {
          200: z.object({
            entries: z.array(
              z.object({
                report: reportSchema,
                receivedAt: z.number().describe('When this gateway received it (ms since epoch)'),
              }),
            ),
          }),
        },
      },
    },
    async () => ({ entries: options.board() }),
  );
}
