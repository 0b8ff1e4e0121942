import { connect, type Socket } from 'node:net';

const request = (host: string, path: string) =>
  `GET ${path} HTTP/1.1\r\nHost: ${host}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
  'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n';

function open(baseUrl: string): Promise<{ socket: Socket; host: string }> {
  const url = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(url.port), url.hostname, () =>
      resolve({ socket, host: url.host }),
    );
    socket.once('error', reject);
  });
}

/** What a server answered to a WebSocket upgrade: its status (null: no answer in time) and raw text. */
export interface UpgradeAnswer {
  status: number | null;
  text: string;
}

/**
 * Sends a WebSocket upgrade request for `path` (no Origin, no token) over a
 * raw socket and resolves with what came back within `timeoutMs`: a refusal's
 * status and body, `101` for an accepted upgrade, or `status: null` when the
 * server said nothing at all.
 */
export async function upgradeAnswer(
  baseUrl: string,
  path: string,
  timeoutMs = 3_000,
): Promise<UpgradeAnswer> {
  const { socket, host } = await open(baseUrl);
  return new Promise((resolve) => {
    let text = '';
    const done = () => {
      clearTimeout(timer);
      socket.destroy();
      const status = /^HTTP\/1\.1 (\d{3})/.exec(text)?.[1];
      resolve({ status: status ? Number(status) : null, text });
    };
    const timer = setTimeout(done, timeoutMs);
    socket.on('data', (chunk: Buffer) => {
      text += chunk.toString('utf8');
      // A refusal ends with its body; an accepted upgrade's head is enough.
      if (text.startsWith('HTTP/1.1 101') && text.includes('\r\n\r\n')) done();
    });
    socket.on('end', done);
    socket.on('error', done);
    socket.write(request(host, path));
  });
}

/**
 * Sends a WebSocket upgrade request for `path` and, `afterMs` later, resets
 * the connection (a TCP RST), as a client that gives up or crashes does.
 */
export async function resetUpgrade(baseUrl: string, path: string, afterMs: number): Promise<void> {
  const { socket, host } = await open(baseUrl);
  socket.on('error', () => undefined);
  socket.write(request(host, path));
  await new Promise((resolve) => setTimeout(resolve, afterMs));
  socket.resetAndDestroy();
}
