import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kafkaSecurity, type KafkaSecuritySettings } from './security.js';

let dir: string;
const none: KafkaSecuritySettings = {
  kafkaTls: false,
  kafkaCaFile: '',
  kafkaSaslMechanism: 'none',
  kafkaSaslUsername: '',
  kafkaSaslPassword: '',
  kafkaOauthTokenFile: '',
};
const code = (fn: () => unknown) => {
  try {
    fn();
    return undefined;
  } catch (err) {
    return `${(err as { code?: string }).code}: ${(err as Error).message}`;
  }
};

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kafka-security-'));
  await writeFile(
    join(dir, 'ca.pem'),
    '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n',
  );
  await writeFile(join(dir, 'not-a-cert'), 'hello');
  await writeFile(join(dir, 'token'), ' eyJ.token \n');
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('kafkaSecurity', () => {
  it('is plaintext without settings, TLS with the system CAs, or TLS with a private CA', () => {
    expect(kafkaSecurity(none)).toEqual({});
    expect(kafkaSecurity({ ...none, kafkaTls: true })).toEqual({ ssl: true });
    const withCa = kafkaSecurity({ ...none, kafkaCaFile: join(dir, 'ca.pem') });
    expect(withCa.ssl).toEqual({
      ca: [expect.stringContaining('BEGIN CERTIFICATE')],
      rejectUnauthorized: true,
    });
  });

  it('gives SCRAM its username and password, and reads the OAUTHBEARER token file at each refresh', async () => {
    expect(
      kafkaSecurity({
        ...none,
        kafkaTls: true,
        kafkaSaslMechanism: 'scram-sha-512',
        kafkaSaslUsername: 'u',
        kafkaSaslPassword: 'p',
      }).sasl,
    ).toEqual({ mechanism: 'scram-sha-512', username: 'u', password: 'p' });
    const oauth = kafkaSecurity({
      ...none,
      kafkaTls: true,
      kafkaSaslMechanism: 'oauthbearer',
      kafkaOauthTokenFile: join(dir, 'token'),
    }).sasl as { oauthBearerProvider(): Promise<{ value: string }> };
    expect(await oauth.oauthBearerProvider()).toEqual({ value: 'eyJ.token' });
    await writeFile(join(dir, 'token'), 'rotated');
    expect(await oauth.oauthBearerProvider()).toEqual({ value: 'rotated' });
  });

  it('refuses what would fail later or leak: SASL in the clear, missing credentials, an unreadable CA', () => {
    const scram = { ...none, kafkaSaslMechanism: 'scram-sha-256' as const };
    expect(
      code(() => kafkaSecurity({ ...scram, kafkaSaslUsername: 'u', kafkaSaslPassword: 'p' })),
    ).toMatch(/KAFKA_ERR_SECURITY_CONFIG: .*needs PARLEY_KAFKA_TLS=true/);
    expect(code(() => kafkaSecurity({ ...scram, kafkaTls: true, kafkaSaslUsername: 'u' }))).toMatch(
      /needs PARLEY_KAFKA_SASL_USERNAME and PARLEY_KAFKA_SASL_PASSWORD/,
    );
    expect(
      code(() => kafkaSecurity({ ...none, kafkaTls: true, kafkaSaslMechanism: 'oauthbearer' })),
    ).toMatch(/needs PARLEY_KAFKA_OAUTH_TOKEN_FILE/);
    expect(code(() => kafkaSecurity({ ...none, kafkaCaFile: join(dir, 'missing.pem') }))).toMatch(
      /PARLEY_KAFKA_CA_FILE: cannot read/,
    );
    expect(code(() => kafkaSecurity({ ...none, kafkaCaFile: join(dir, 'not-a-cert') }))).toMatch(
      /holds no PEM certificate/,
    );
  });
});
