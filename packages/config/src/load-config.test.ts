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

  it('reads a list of names, trimmed, and refuses a bad name or too many', () => {
    const names = { c: env.names('C', { max: 2, default: ['gateway'] }) };
    expect(loadConfig(names, { C: ' chat , ai ' }).c).toEqual(['chat', 'ai']);
    expect(loadConfig(names, {}).c).toEqual(['gateway']);
    expect(() => loadConfig(names, { C: 'chat,Bad_Name' })).toThrowError(/C=/);
    expect(() => loadConfig(names, { C: 'a,b,c' })).toThrowError(/C=/);
  });

  it('rejects a list entry that is not host:port', () => {
    expect(() =>
      loadConfig({ b: env.hostPorts('B') }, { B: 'localhost:9092,nonsense' }),
    ).toThrowError(/B=/);
  });
});
