import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { runProbe } from './probe.js';
import { resultMetrics } from './report.js';

const ORIGIN = 'https://probe.example';

/**
 * A stand-in gateway speaking the widget protocol: a session, then a socket
 * that acks the question and answers it with `answer` (in two deltas and the
 * stored message), or stays silent.
 */
async function fakeGateway(behaviour: { sessionStatus?: number; answer?: string }) {
  const server: Server = createServer((req, res) => {
    if (req.url !== '/v1/widget/sessions' || req.headers.origin !== ORIGIN)
      return void res.writeHead(403).end();
    const status = behaviour.sessionStatus ?? 201;
    res
      .writeHead(status, { 'content-type': 'application/json' })
      .end(
        JSON.stringify(
          status === 201
            ? { sessionToken: 't0k', websocketPath: '/v1/widget/ws' }
            : { code: 'GW_ERR_UNKNOWN_WIDGET_KEY' },
        ),
      );
  });
  const wss = new WebSocketServer({ noServer: true });
  server.on('upgrade', (req, socket, head) => {
    if (!req.url?.endsWith('?token=t0k') || req.headers.origin !== ORIGIN) {
      socket.destroy();
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      ws.on('message', (data) => {
        const frame = JSON.parse(data.toString()) as { type: string; clientMessageId?: string };
        if (frame.type !== 'message' || behaviour.answer === undefined) return;
        ws.send(JSON.stringify({ type: 'ack', clientMessageId: frame.clientMessageId, seq: 1 }));
        ws.send(JSON.stringify({ type: 'delta', replyTo: 1, index: 0, text: 'We open ' }));
        ws.send(JSON.stringify({ type: 'delta', replyTo: 1, index: 1, text: '…' }));
        ws.send(
          JSON.stringify({
            type: 'message',
            seq: 2,
            role: 'assistant',
            clientMessageId: 'reply:1',
            text: behaviour.answer,
          }),
        );
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    close: () => {
      for (const client of wss.clients) client.terminate();
      server.close();
    },
  };
}

let close: (() => void) | undefined;
afterEach(() => close?.());

const probe = async (behaviour: Parameters<typeof fakeGateway>[0], extra = {}) => {
  const gateway = await fakeGateway(behaviour);
  close = gateway.close;
  return runProbe({
    url: gateway.url,
    widgetKey: 'pk_probe',
    origin: ORIGIN,
    question: 'When are you open?',
    ...extra,
  });
};

describe('runProbe', () => {
  it('takes the stored answer to its question and times every phase', async () => {
    const result = await probe(
      { answer: 'We open Monday to Friday.' },
      { expect: 'monday TO friday' },
    );
    expect(result).toMatchObject({ success: true, answer: 'We open Monday to Friday.' });
    for (const phase of ['session', 'connect', 'firstToken', 'answer', 'total'] as const)
      expect(result.latencySeconds[phase], phase).toBeGreaterThanOrEqual(0);
    expect(result.latencySeconds.firstToken!).toBeLessThanOrEqual(result.latencySeconds.answer!);
  });

  it('fails when the answer does not contain or match the expectation', async () => {
    expect(await probe({ answer: 'Sorry, no idea.' }, { expect: 'Monday' })).toMatchObject({
      success: false,
      error: 'PROBE_ERR_ANSWER_MISMATCH',
    });
    close?.();
    expect(await probe({ answer: 'Open 9-17' }, { expectRegex: /^\d+$/ })).toMatchObject({
      success: false,
      error: 'PROBE_ERR_ANSWER_MISMATCH',
    });
  });

  it('fails on a refused session, naming the status and code', async () => {
    expect(await probe({ sessionStatus: 401 })).toMatchObject({
      success: false,
      error: 'PROBE_ERR_SESSION',
      detail: 'session refused: 401 GW_ERR_UNKNOWN_WIDGET_KEY',
    });
  });

  it('fails with a timeout when no answer comes within the limit', async () => {
    const result = await probe({}, { timeoutMs: 300 });
    expect(result).toMatchObject({ success: false, error: 'PROBE_ERR_TIMEOUT' });
    expect(result.latencySeconds.connect).toBeDefined();
    expect(result.latencySeconds.answer).toBeUndefined();
  });
});

describe('resultMetrics', () => {
  it('exposes success, each phase and the run time', async () => {
    const text = await resultMetrics({
      success: false,
      at: '2026-11-26T10:00:00.000Z',
      latencySeconds: { session: 0.1, total: 5 },
      error: 'PROBE_ERR_TIMEOUT',
    }).metrics();
    expect(text).toContain('\nparley_probe_success 0\n');
    expect(text).toContain('parley_probe_latency_seconds{phase="session"} 0.1');
    expect(text).toContain('parley_probe_latency_seconds{phase="total"} 5');
    expect(text).not.toContain('phase="answer"');
    expect(text).toContain('parley_probe_last_run_timestamp_seconds 1795687200');
  });
});
