import { join } from 'node:path';
import { expect } from 'vitest';
import { resultMetrics } from '@parley/dr';
import {
  TEST_AUTH_TOKEN,
  TEST_PUBLIC_URL,
  eventually,
  serviceEnv,
  startServiceProcess,
  uniqueName,
} from '@parley/testing';
import { REPO } from './tools.js';

/** Parley's services, as their images run them. */
export const SERVICES = ['gateway', 'chat', 'ai', 'hitl', 'voice', 'embedding'] as const;
export type Service = (typeof SERVICES)[number];

/** The services that consume Kafka (and so report `kafka_consumer_lag`), with their group's variable. */
export const CONSUMERS = {
  chat: 'CHAT_CONSUMER_GROUP',
  ai: 'AI_CONSUMER_GROUP',
  hitl: 'HITL_CONSUMER_GROUP',
  embedding: 'EMBEDDING_CONSUMER_GROUP',
} as const satisfies Partial<Record<Service, string>>;

/** One sample of an exposition: its series name and labels. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
}

/** One exposition: metric names with their types, the label names each series carries, and the samples. */
export interface Exposition {
  types: Map<string, string>;
  labels: Map<string, Set<string>>;
  samples: Sample[];
}

const unescape = (value: string) =>
  value.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));

/** Parses Prometheus' text exposition format. */
export function parseExposition(text: string): Exposition {
  const types = new Map<string, string>();
  const labels = new Map<string, Set<string>>();
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type) types.set(type[1]!, type[2]!);
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? \S+$/.exec(line);
    if (!sample) continue;
    const names = labels.get(sample[1]!) ?? new Set<string>();
    const values: Record<string, string> = {};
    for (const m of (sample[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) {
      names.add(m[1]!);
      values[m[1]!] = unescape(m[2]!);
    }
    labels.set(sample[1]!, names);
    samples.push({ name: sample[1]!, labels: values });
  }
  return { types, labels, samples };
}

/** The series names a metric of a type gives (a histogram's _bucket, _sum and _count). */
export const seriesOf = (name: string, type: string): string[] =>
  type === 'histogram'
    ? [`${name}_bucket`, `${name}_sum`, `${name}_count`]
    : type === 'summary'
      ? [name, `${name}_sum`, `${name}_count`]
      : [name];

/** What the platform exports: each service's /metrics, and what parley-dr pushes. */
export type Scraped = Map<Service | 'parley-dr', Exposition>;

/**
 * Starts every service as a real process on the test infrastructure (as its
 * image runs it; the voice service with telephony on; a topic and groups of
 * this run's own), sends it one request so the HTTP series have samples,
 * waits until each consumer reports its lag, and scrapes its /metrics;
 * parley-dr's integrity metrics come from the registry it pushes.
 */
export async function scrapePlatform(): Promise<Scraped> {
  const scraped: Scraped = new Map();
  const isolate = uniqueName('scrape');
  for (const service of SERVICES) {
    const env: Record<string, string> = {
      ...serviceEnv({ isolate }),
      // A topic of this run's own; one partition is quick to create.
      PARLEY_KAFKA_TOPIC_PARTITIONS: '1',
      ...(service === 'voice'
        ? {
            TWILIO_AUTH_TOKEN: TEST_AUTH_TOKEN,
            VOICE_PUBLIC_URL: TEST_PUBLIC_URL,
            VOICE_LOCAL_STT_URL: 'http://127.0.0.1:9/v1',
          }
        : {}),
    };
    const proc = await startServiceProcess(join(REPO, 'services', service, 'dist/main.js'), {
      env,
      startTimeoutMs: 60_000,
    });
    try {
      expect((await fetch(`${proc.baseUrl}/scrape-check`)).status).toBe(404);
      const group = service in CONSUMERS ? env[CONSUMERS[service as keyof typeof CONSUMERS]] : '';
      // A consumer reports its lag once it has joined its group (just after it is ready).
      const text = await eventually(
        async () => {
          const res = await fetch(`${proc.baseUrl}/metrics`);
          expect(res.status).toBe(200);
          const body = await res.text();
          return !group || body.includes(`kafka_consumer_lag{group="${group}"`) ? body : undefined;
        },
        { timeoutMs: 30_000, intervalMs: 200, what: `${service}'s kafka_consumer_lag` },
      );
      scraped.set(service, parseExposition(text));
    } finally {
      await proc.stop('SIGTERM');
    }
  }
  const integrity = resultMetrics([
    {
      name: 'orphaned_messages',
      severity: 'critical',
      description: '',
      found: 0,
      sample: [],
      ms: 1,
    },
  ]);
  scraped.set('parley-dr', parseExposition(await integrity.metrics()));
  return scraped;
}

/** Every series name the platform exports, with the label names seen on its samples. */
export function exported(scraped: Scraped): Map<string, Set<string> | undefined> {
  const all = new Map<string, Set<string> | undefined>();
  for (const { types, labels } of scraped.values())
    for (const [name, type] of types)
      for (const series of seriesOf(name, type)) {
        const seen = labels.get(series);
        if (seen) all.set(series, new Set([...(all.get(series) ?? []), ...seen]));
        else if (!all.has(series)) all.set(series, undefined);
      }
  return all;
}
