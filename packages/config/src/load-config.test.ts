import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { ConfigError } from './index.js';
import { env, isConfigError, loadConfig, postgresFields, serviceFields } from './index.js';

describe('loadConfig', () => {
  it('parses typed values and fills defaults', () => {
    const config = loadConfig(
      {
        ...serviceFields,
        brokers: env.hostPorts('BROKERS'),
        debug: env.bool('DEBUG', { default: false }),
      },
      { PORT: '9000', BROKERS: 'a:9092, b:9093', DEBUG: 'yes' },
    );
    expect(config).toMatchObject({
      port: 9000,
      host: '0.0.0.0',
      logLevel: 'info',
      brokers: ['a:9092', 'b:9093'],
      debug: true,
    });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('names the variable and what was expected when a value is invalid', () => {
    expect(() => loadConfig(serviceFields, { PORT: 'eighty' })).toThrowError(
      /PORT="eighty" is invalid: expected an integer from 0 to 65535/,
    );
  });

  it('names a missing required variable', () => {
    expect(() => loadConfig({ brokers: env.hostPorts('PARLEY_KAFKA_BROKERS') }, {})).toThrowError(
      /PARLEY_KAFKA_BROKERS is not set: expected a comma-separated list of host:port/,
    );
  });

  it('reports every problem at once', () => {
    try {
      loadConfig(
        { ...serviceFields, url: env.url('DB_URL', { protocols: ['postgres:'] }) },
        {
          PORT: '70000',
          LOG_LEVEL: 'loud',
          DB_URL: 'mysql://x',
        },
      );
      expect.unreachable();
    } catch (err) {
      expect(isConfigError(err)).toBe(true);
      expect((err as ConfigError).problems.map((p) => p.variable)).toEqual([
        'PORT',
        'LOG_LEVEL',
        'DB_URL',
      ]);
    }
  });

  it('never echoes a secret value in the error', () => {
    const secret = 'postgres-not-a-url-with-password-hunter2';
    try {
      loadConfig(postgresFields, { PARLEY_PG_PRIMARY_URL: secret });
      expect.unreachable();
    } catch (err) {
      expect(String((err as Error).message)).toContain('PARLEY_PG_PRIMARY_URL');
      expect(String((err as Error).message)).not.toContain('hunter2');
    }
  });

  it("refuses deploy/compose/example.env's placeholders and secrets that do not look random", () => {
    const example = readFileSync(
      new URL('../../../deploy/compose/example.env', import.meta.url),
      'utf8',
    );
    const placeholder = (name: string) => new RegExp(`^${name}=(.+)$`, 'm').exec(example)![1]!;
    const spec = {
      session: env.secret('PARLEY_SESSION_SECRET', { minLength: 32, generated: true }),
      search: env.secret('KNOWLEDGE_SEARCH_TOKEN', {
        minLength: 24,
        optional: true,
        generated: true,
      }),
      openai: env.secret('OPENAI_API_KEY', { minLength: 8, optional: true }),
    };
    const good = {
      PARLEY_SESSION_SECRET: 'q8Vf2nLx0RkT7yWcZp4HsBd9GmJe1UaN',
      KNOWLEDGE_SEARCH_TOKEN: 'Zx9c2Vb7Nm4Lk1Jh6Gf3Ds8A',
      OPENAI_API_KEY: 'sk-test-openai',
    };
    expect(loadConfig(spec, good).session).toBe(good.PARLEY_SESSION_SECRET);
    const refused = (variable: string, value: string) => {
      try {
        loadConfig(spec, { ...good, [variable]: value });
        return null;
      } catch (err) {
        if (!isConfigError(err)) throw err;
        return err.message;
      }
    };
    for (const [variable, value] of [
      ['PARLEY_SESSION_SECRET', placeholder('PARLEY_SESSION_SECRET')],
      ['PARLEY_SESSION_SECRET', placeholder('PARLEY_AGENT_SECRET')],
      ['KNOWLEDGE_SEARCH_TOKEN', placeholder('KNOWLEDGE_SEARCH_TOKEN')],
      ['PARLEY_SESSION_SECRET', 'a'.repeat(40)],
      ['PARLEY_SESSION_SECRET', 'abcd'.repeat(10)],
      ['PARLEY_SESSION_SECRET', 'password-password-password-password'],
      ['PARLEY_SESSION_SECRET', 'changeme-changeme-0123456789abcdefgh'],
      ['OPENAI_API_KEY', '<your-openai-key>'],
    ] as const) {
      const message = refused(variable, value);
      expect(message, `${variable}=${value}`).toContain(variable);
      expect(message).not.toContain(value);
    }
    expect(refused('PARLEY_SESSION_SECRET', 'a'.repeat(40))).toContain('openssl rand');
  });

  it('reads a list of names, trimmed, and refuses a bad name or too many', () => {
    const names = { c: env.names('C', { max: 2, default: ['gateway'] }) };
    expect(loadConfig(names, { C: ' chat , ai ' }).c).toEqual(['chat', 'ai']);
    expect(loadConfig(names, {}).c).toEqual(['gateway']);
    expect(() => loadConfig(names, { C: 'chat,Bad_Name' })).toThrowError(/C=/);
    expect(() => loadConfig(names, { C: 'a,b,c' })).toThrowError(/C=/);
  });

  it('reads a region name and refuses one that could not be a Redis key or label part', () => {
    const spec = { r: env.region('R', { default: 'local' }) };
    expect(loadConfig(spec, { R: 'eu-west' }).r).toBe('eu-west');
    expect(loadConfig(spec, {}).r).toBe('local');
    for (const bad of ['EU-West', 'eu west', '-eu', 'eu:west', 'x'.repeat(64)])
      expect(() => loadConfig(spec, { R: bad }), bad).toThrowError(/R=/);
  });

  it('reads each region’s brokers, and refuses a malformed, repeated or empty region', () => {
    const spec = { k: env.regionBrokers('K', { default: {} }) };
    expect(loadConfig(spec, { K: ' us-east=a:9092, b:9092 ; eu-west=c.example:9093; ' }).k).toEqual(
      { 'us-east': ['a:9092', 'b:9092'], 'eu-west': ['c.example:9093'] },
    );
    expect(loadConfig(spec, {}).k).toEqual({});
    for (const bad of ['us-east', 'us-east=', '=a:1', 'Us=a:1', 'us-east=a', 'x=a:1;x=b:2'])
      expect(() => loadConfig(spec, { K: bad }), bad).toThrowError(/K=/);
  });

  it('rejects a list entry that is not host:port', () => {
    expect(() =>
      loadConfig({ b: env.hostPorts('B') }, { B: 'localhost:9092,nonsense' }),
    ).toThrowError(/B=/);
  });
});
