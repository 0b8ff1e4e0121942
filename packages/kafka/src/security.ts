import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { SASLOptions } from 'kafkajs';

/** How the brokers are reached: TLS (with a private CA or the system's) and SASL. */
export interface KafkaSecurity {
  ssl?: true | { ca: string[]; rejectUnauthorized: true };
  sasl?: SASLOptions;
}

/** The variables {@link kafkaSecurity} reads (`kafkaFields` of @parley/config). */
export interface KafkaSecuritySettings {
  kafkaTls: boolean;
  kafkaCaFile: string;
  kafkaSaslMechanism: 'none' | 'plain' | 'scram-sha-256' | 'scram-sha-512' | 'oauthbearer';
  kafkaSaslUsername: string;
  kafkaSaslPassword: string;
  kafkaOauthTokenFile: string;
}

const coded = (message: string) =>
  Object.assign(new Error(message), { code: 'KAFKA_ERR_SECURITY_CONFIG' });

/**
 * Turns the security variables into kafkajs's `ssl` and `sasl` options,
 * reading the CA file now (a missing or unreadable file stops the start,
 * naming it). SASL without TLS is refused: passwords and tokens would cross
 * the network in the clear. OAUTHBEARER reads its token file again at each
 * refresh, so a rotated token is used without a restart.
 */
export function kafkaSecurity(settings: KafkaSecuritySettings): KafkaSecurity {
  const tls = settings.kafkaTls || settings.kafkaCaFile !== '';
  const mechanism = settings.kafkaSaslMechanism;
  if (mechanism !== 'none' && !tls)
    throw coded(`PARLEY_KAFKA_SASL_MECHANISM=${mechanism} needs PARLEY_KAFKA_TLS=true`);
  let ssl: KafkaSecurity['ssl'];
  if (settings.kafkaCaFile) {
    let ca: string;
    try {
      ca = readFileSync(settings.kafkaCaFile, 'utf8');
    } catch (err) {
      throw coded(
        `PARLEY_KAFKA_CA_FILE: cannot read ${settings.kafkaCaFile}: ${(err as Error).message}`,
      );
    }
    if (!ca.includes('BEGIN CERTIFICATE'))
      throw coded(`PARLEY_KAFKA_CA_FILE: ${settings.kafkaCaFile} holds no PEM certificate`);
    ssl = { ca: [ca], rejectUnauthorized: true };
  } else if (tls) ssl = true;
  const sasl = saslOptions(settings);
  return { ...(ssl ? { ssl } : {}), ...(sasl ? { sasl } : {}) };
}

function saslOptions(settings: KafkaSecuritySettings): SASLOptions | undefined {
  const mechanism = settings.kafkaSaslMechanism;
  if (mechanism === 'none') return undefined;
  if (mechanism === 'oauthbearer') {
    const file = settings.kafkaOauthTokenFile;
    if (!file)
      throw coded('PARLEY_KAFKA_SASL_MECHANISM=oauthbearer needs PARLEY_KAFKA_OAUTH_TOKEN_FILE');
    return {
      mechanism,
      oauthBearerProvider: async () => {
        const value = (await readFile(file, 'utf8')).trim();
        if (!value) throw coded(`PARLEY_KAFKA_OAUTH_TOKEN_FILE: ${file} is empty`);
        return { value };
      },
    };
  }
  if (!settings.kafkaSaslUsername || !settings.kafkaSaslPassword)
    throw coded(
      `PARLEY_KAFKA_SASL_MECHANISM=${mechanism} needs PARLEY_KAFKA_SASL_USERNAME and PARLEY_KAFKA_SASL_PASSWORD`,
    );
  return { mechanism, username: settings.kafkaSaslUsername, password: settings.kafkaSaslPassword };
}
