import { once } from 'node:events';
import { readFile, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { createLogger } from '@parley/observability';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectEventually, makeTestCa, type TestCa } from '@parley/testing';
import { DELETION_COST, PodDeletionCost } from './pod-deletion-cost.js';

/**
 * The pod's deletion cost against a local HTTPS server that answers as the
 * Kubernetes API server does for a pod's merge patch: bearer token, the
 * pod's path, `application/merge-patch+json`, 200 with the pod, or 403 with
 * a Status object.
 */
let ca: TestCa;
let server: Server;
let apiUrl = '';
let tokenFile = '';
interface Patch {
  metadata: { annotations: Record<string, string> };
}
const requests: Array<{ method: string; path: string; auth: string; type: string; body: Patch }> =
  [];
let refuse = false;
const annotations: Record<string, string> = {};

beforeAll(async () => {
  ca = await makeTestCa();
  tokenFile = join(ca.dir, 'token');
  await writeFile(tokenFile, 'token-1\n');
  server = createServer(
    { key: await readFile(ca.keyFile), cert: await readFile(ca.certFile) },
    (req, res) => {
      let text = '';
      req.on('data', (c: Buffer) => (text += c.toString()));
      req.on('end', () => {
        const body = JSON.parse(text) as Patch;
        requests.push({
          method: req.method!,
          path: req.url!,
          auth: req.headers.authorization ?? '',
          type: req.headers['content-type'] ?? '',
          body,
        });
        if (refuse) {
          res.writeHead(403, { 'content-type': 'application/json' });
          res.end(
            JSON.stringify({
              kind: 'Status',
              status: 'Failure',
              reason: 'Forbidden',
              code: 403,
              message:
                'pods "voice-0" is forbidden: User "system:serviceaccount:parley:parley-voice" cannot patch resource "pods"',
            }),
          );
          return;
        }
        Object.assign(annotations, body.metadata.annotations);
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ kind: 'Pod', metadata: { name: 'voice-0', annotations } }));
      });
    },
  );
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  apiUrl = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server?.close();
  await ca?.destroy();
});

function logged() {
  const lines: Array<Record<string, unknown>> = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean))
        lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { logger: createLogger({ service: 'voice-test', destination }), lines };
}

describe('the pod deletion cost', () => {
  it('patches the pod’s own annotation with the value, at most once per interval, the last value winning', async () => {
    requests.length = 0;
    const { logger } = logged();
    const cost = new PodDeletionCost({
      apiUrl,
      namespace: 'parley',
      pod: 'voice-0',
      tokenFile,
      ca: ca.ca,
      logger,
      intervalMs: 300,
    });
    cost.set(1);
    await cost.settled();
    expect(requests).toEqual([
      {
        method: 'PATCH',
        path: '/api/v1/namespaces/parley/pods/voice-0',
        auth: 'Bearer token-1',
        type: 'application/merge-patch+json',
        body: { metadata: { annotations: { [DELETION_COST]: '1' } } },
      },
    ]);
    // Calls come and go faster than the interval: one more patch, with the last count.
    for (const n of [2, 3, 4, 3, 2]) cost.set(n);
    await cost.settled();
    expect(requests.map((r) => r.body.metadata.annotations[DELETION_COST])).toEqual(['1', '2']);
    expect(annotations[DELETION_COST]).toBe('2');
    // The same value again sends nothing; the kubelet's rotated token is read for the next one.
    cost.set(2);
    await cost.settled();
    expect(requests).toHaveLength(2);
    await writeFile(tokenFile, 'token-2\n');
    cost.set(0);
    await cost.settled();
    expect(requests.at(-1)).toMatchObject({ auth: 'Bearer token-2' });
    expect(annotations[DELETION_COST]).toBe('0');
    cost.close();
  });

  it('logs the API server’s reason when it refuses, and applies the value once it accepts', async () => {
    requests.length = 0;
    refuse = true;
    const { logger, lines } = logged();
    const cost = new PodDeletionCost({
      apiUrl,
      namespace: 'parley',
      pod: 'voice-0',
      tokenFile,
      ca: ca.ca,
      logger,
      intervalMs: 100,
    });
    cost.set(7);
    await expectEventually(() =>
      expect(lines.find((l) => l.msg === 'The pod deletion cost was not updated')).toMatchObject({
        status: 403,
        reason: expect.stringContaining('cannot patch resource "pods"'),
        cost: 7,
      }),
    );
    // The token never reaches the log.
    expect(JSON.stringify(lines)).not.toContain('token-');
    refuse = false;
    await expectEventually(() => expect(annotations[DELETION_COST]).toBe('7'), {
      timeoutMs: 5_000,
    });
    const sent = requests.length;
    await new Promise((r) => setTimeout(r, 300));
    expect(requests).toHaveLength(sent);
    cost.close();
  });

  it('does not trust an API server its CA did not sign', async () => {
    const { logger, lines } = logged();
    const cost = new PodDeletionCost({
      apiUrl,
      namespace: 'parley',
      pod: 'voice-0',
      tokenFile,
      logger,
      intervalMs: 100,
    });
    requests.length = 0;
    cost.set(5);
    await expectEventually(() =>
      expect(lines.some((l) => l.msg === 'The pod deletion cost was not updated')).toBe(true),
    );
    cost.close();
    expect(requests).toEqual([]);
  });
});
