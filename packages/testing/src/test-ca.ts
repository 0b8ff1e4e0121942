import { execFile } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** A throwaway certificate authority and one server certificate it signed, for TLS tests. */
export interface TestCa {
  dir: string;
  /** The CA's certificate (PEM): what clients trust. */
  caFile: string;
  ca: string;
  /** The server's certificate (for 127.0.0.1 and localhost) and its unencrypted PKCS#8 key. */
  certFile: string;
  keyFile: string;
  /** The key encrypted with {@link TestCa.keyPassword} followed by the certificate (Kafka's PEM keystore). */
  keystoreFile: string;
  keyPassword: string;
  destroy(): Promise<void>;
}

/**
 * Makes a CA valid for two days and a server certificate for `IP:127.0.0.1`
 * and `DNS:localhost` with `openssl` (P-256 keys), in a fresh temporary
 * directory readable by `owner` (Postgres refuses a key others can read).
 */
export async function makeTestCa({ owner }: { owner?: string } = {}): Promise<TestCa> {
  const dir = await mkdtemp(join(tmpdir(), 'parley-ca-'));
  const at = (name: string) => join(dir, name);
  const openssl = (...args: string[]) => run('openssl', args, { cwd: dir });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  await openssl(
    'req',
    '-x509',
    ...ec,
    '-keyout',
    'ca.key',
    '-out',
    'ca.crt',
    '-days',
    '2',
    '-subj',
    '/CN=parley-test-ca',
  );
  await openssl(
    'req',
    ...ec,
    '-keyout',
    'server.key',
    '-out',
    'server.csr',
    '-subj',
    '/CN=localhost',
  );
  await writeFile(
    at('server.ext'),
    [
      'subjectAltName=IP:127.0.0.1,DNS:localhost',
      'basicConstraints=CA:FALSE',
      'keyUsage=digitalSignature,keyEncipherment',
      'extendedKeyUsage=serverAuth',
    ].join('\n'),
  );
  await openssl(
    'x509',
    '-req',
    '-in',
    'server.csr',
    '-CA',
    'ca.crt',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-out',
    'server.crt',
    '-days',
    '2',
    '-extfile',
    'server.ext',
  );
  // PBE-SHA1-3DES: Java 17's key factory has no PBES2, which openssl uses by default.
  const keyPassword = 'parley-test-keystore';
  await openssl(
    'pkcs8',
    '-topk8',
    '-v1',
    'PBE-SHA1-3DES',
    '-in',
    'server.key',
    '-out',
    'server.enc.key',
    '-passout',
    `pass:${keyPassword}`,
  );
  const [encKey, cert] = await Promise.all([
    readFile(at('server.enc.key'), 'utf8'),
    readFile(at('server.crt'), 'utf8'),
  ]);
  await writeFile(at('keystore.pem'), `${encKey}${cert}`);
  await chmod(at('server.key'), 0o600);
  if (owner) await run('chown', ['-R', owner, dir]);
  return {
    dir,
    caFile: at('ca.crt'),
    ca: await readFile(at('ca.crt'), 'utf8'),
    certFile: at('server.crt'),
    keyFile: at('server.key'),
    keystoreFile: at('keystore.pem'),
    keyPassword,
    destroy: () => rm(dir, { recursive: true, force: true }),
  };
}
