import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { REPO, exec } from './tools.js';

/**
 * docker-compose.yml, loaded by the Compose Specification's own loader
 * (compose-go, as `docker compose config` does: schema, interpolation,
 * references), with throwaway values for the secrets .env would hold.
 */
interface ComposeService {
  image?: string;
  build?: { context: string; dockerfile: string };
  environment?: Record<string, string | null>;
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] };
  read_only?: boolean;
  cap_drop?: string[];
  security_opt?: string[];
  volumes?: Array<{ source: string; target: string }>;
}

const SECRETS = {
  POSTGRES_PASSWORD: 'pg-password-for-tests',
  REPLICATION_PASSWORD: 'replication-password-for-tests',
  PARLEY_SESSION_SECRET: 'session-secret-for-tests-0123456789abcdef',
  PARLEY_AGENT_SECRET: 'agent-secret-for-tests-0123456789abcdef',
  KNOWLEDGE_SEARCH_TOKEN: 'search-token-for-tests-0123456789',
};
const SERVICES = ['gateway', 'chat', 'ai', 'hitl', 'embedding', 'voice'];
let dir: string;
let services: Record<string, ComposeService>;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'parley-compose-'));
  const envFile = join(dir, 'test.env');
  await writeFile(
    envFile,
    Object.entries(SECRETS)
      .map(([k, v]) => `${k}=${v}\n`)
      .join(''),
  );
  const project = JSON.parse(
    await exec('PARLEY_COMPOSE_CHECK', ['-env-file', envFile, join(REPO, 'docker-compose.yml')]),
  ) as { services: Record<string, ComposeService> };
  services = project.services;
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('docker-compose.yml', () => {
  it('runs the whole stack: Kafka, a Postgres primary and its replica, Redis, every service, Prometheus and a collector', () => {
    expect(Object.keys(services).sort()).toEqual(
      [
        'kafka',
        'postgres-primary',
        'postgres-replica',
        'redis',
        'setup',
        ...SERVICES,
        'local-stt',
        'prometheus',
        'otel-collector',
      ].sort(),
    );
    expect(services.kafka!.environment).toMatchObject({ KAFKA_PROCESS_ROLES: 'broker,controller' });
    // pgvector for knowledge search, on both sides of the replication.
    expect(services['postgres-primary']!.image).toMatch(/^pgvector\/pgvector:.*-pg15$/);
    expect(services['postgres-replica']!.image).toBe(services['postgres-primary']!.image);
    expect(services['postgres-replica']!.depends_on).toEqual({
      'postgres-primary': expect.objectContaining({ condition: 'service_healthy' }),
    });
  });

  it('builds every service from its own Dockerfile and starts it only once its dependencies are healthy and set up', () => {
    for (const name of SERVICES) {
      const service = services[name]!;
      expect(service.build?.dockerfile, name).toBe(`services/${name}/Dockerfile`);
      expect(service.healthcheck?.test.join(' '), name).toMatch(/\/readyz/);
      expect(service.depends_on, name).toMatchObject({
        setup: { condition: 'service_completed_successfully' },
        kafka: { condition: 'service_healthy' },
        redis: { condition: 'service_healthy' },
        'postgres-replica': { condition: 'service_healthy' },
      });
      expect(service.read_only, name).toBe(true);
      expect(service.cap_drop, name).toEqual(['ALL']);
      expect(service.security_opt, name).toContain('no-new-privileges:true');
      // Writes to the primary, reads from the replica.
      expect(service.environment?.PARLEY_PG_REPLICA_URLS, name).toMatch(/@postgres-replica:5432\//);
    }
    for (const infra of ['kafka', 'postgres-primary', 'postgres-replica', 'redis', 'prometheus'])
      expect(services[infra]!.healthcheck?.test.length, infra).toBeGreaterThan(0);
    // The setup job creates the topic (and runs the migrations) before anything consumes.
    expect(services.setup!.depends_on).toMatchObject({
      kafka: { condition: 'service_healthy' },
      'postgres-primary': { condition: 'service_healthy' },
    });
    expect(services.setup!.environment).toMatchObject({ PARLEY_KAFKA_TOPIC_PARTITIONS: '24' });
  });

  it('takes every secret from the environment (.env), never from the file itself', async () => {
    const text = await readFile(join(REPO, 'docker-compose.yml'), 'utf8');
    for (const value of Object.values(SECRETS)) expect(text).not.toContain(value);
    expect(text).not.toMatch(/postgres:\/\/[^:\s]+:[^$\s{][^@\s]*@/); // a literal password in a URL
    // The loader put the throwaway values where the .env says.
    expect(services.gateway!.environment?.PARLEY_SESSION_SECRET).toBe(
      SECRETS.PARLEY_SESSION_SECRET,
    );
    expect(services.hitl!.environment?.PARLEY_AGENT_SECRET).toBe(SECRETS.PARLEY_AGENT_SECRET);
    const example = await readFile(join(REPO, 'deploy/compose/example.env'), 'utf8');
    for (const key of Object.keys(SECRETS))
      expect(example).toMatch(new RegExp(`^${key}=replace`, 'm'));
  });

  it('refuses to start without the secrets', async () => {
    await expect(exec('PARLEY_COMPOSE_CHECK', [join(REPO, 'docker-compose.yml')])).rejects.toThrow(
      /required variable POSTGRES_PASSWORD is missing a value: set it in .env/,
    );
  });

  it('gives the voice service its settings from .env, empty (off) where optional, and the offline recognizer', () => {
    const voice = services.voice!;
    expect(voice.environment).toMatchObject({
      TWILIO_AUTH_TOKEN: '',
      OPENAI_API_KEY: '',
      DEEPGRAM_API_KEY: '',
      VOICE_LOCAL_STT_KEY: '',
      VOICE_PUBLIC_URL: '',
      VOICE_NUMBERS: '',
      VOICE_LANGUAGE: 'en',
      VOICE_LOCAL_STT_URL: 'http://local-stt:8090/v1',
    });
    expect(voice.depends_on).toMatchObject({ 'local-stt': { condition: 'service_healthy' } });
    const stt = services['local-stt']!;
    expect(stt.build).toEqual({
      context: join(REPO, 'services/voice/local-stt'),
      dockerfile: 'Dockerfile',
    });
    expect(stt.read_only).toBe(true);
    expect(stt.cap_drop).toEqual(['ALL']);
    expect(stt.security_opt).toContain('no-new-privileges:true');
    // distroless Python: no shell or curl, so python itself asks /healthz.
    expect(stt.healthcheck?.test.slice(0, 2)).toEqual(['CMD', '/usr/bin/python3.11']);
    expect(stt.healthcheck?.test.join(' ')).toContain('http://127.0.0.1:8090/healthz');
    expect(stt.environment).toEqual({ LOCAL_STT_THREADS: '2', LOCAL_STT_API_KEY: '' });
  });

  it('passes the optional voice secrets from .env when it has them, and the shared key to local-stt', async () => {
    const optional = {
      TWILIO_AUTH_TOKEN: 'twilio-token-for-tests-0123456789',
      DEEPGRAM_API_KEY: 'deepgram-key-for-tests',
      VOICE_LOCAL_STT_KEY: 'local-stt-key-for-tests',
      VOICE_PUBLIC_URL: 'https://voice.example.org',
      VOICE_NUMBERS: '+15550100=acme',
    };
    const envFile = join(dir, 'voice.env');
    await writeFile(
      envFile,
      Object.entries({ ...SECRETS, ...optional })
        .map(([k, v]) => `${k}=${v}\n`)
        .join(''),
    );
    const project = JSON.parse(
      await exec('PARLEY_COMPOSE_CHECK', ['-env-file', envFile, join(REPO, 'docker-compose.yml')]),
    ) as { services: Record<string, ComposeService> };
    expect(project.services.voice!.environment).toMatchObject(optional);
    expect(project.services['local-stt']!.environment?.LOCAL_STT_API_KEY).toBe(
      optional.VOICE_LOCAL_STT_KEY,
    );
    const text = await readFile(join(REPO, 'docker-compose.yml'), 'utf8');
    for (const value of Object.values(optional)) expect(text).not.toContain(value);
    const example = await readFile(join(REPO, 'deploy/compose/example.env'), 'utf8');
    for (const key of Object.keys(optional)) expect(example).toMatch(new RegExp(`^${key}=$`, 'm'));
  });

  it('has Prometheus scrape every service', async () => {
    const config = parse(await readFile(join(REPO, 'deploy/compose/prometheus.yml'), 'utf8')) as {
      scrape_configs: Array<{ static_configs: Array<{ targets: string[] }> }>;
    };
    const targets = config.scrape_configs.flatMap((s) =>
      s.static_configs.flatMap((c) => c.targets),
    );
    expect(targets.map((t) => t.split(':')[0]).sort()).toEqual([...SERVICES].sort());
  });
});
