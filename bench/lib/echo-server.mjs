// The baseline for load.mjs: a bare `ws` server speaking just enough of the
// widget protocol for the same load generator (a session endpoint, `state`
// after `resume`, `ack` and an assistant reply for each message at once), with
// no storage, no Kafka, no AI. Run as its own process; prints its port.
import { createServer } from 'node:http';
import { WebSocketServer } from 'ws';

const server = createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    res.writeHead(201, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ sessionToken: 'echo', websocketPath: '/v1/widget/ws' }));
  });
});
const wss = new WebSocketServer({ server, maxPayload: 16_384 });
wss.on('connection', (ws) => {
  let seq = 0;
  ws.on('error', () => undefined);
  ws.on('message', (data) => {
    const frame = JSON.parse(data.toString());
    if (frame.type === 'resume') ws.send(JSON.stringify({ type: 'state', lastSeq: seq }));
    if (frame.type !== 'message') return;
    const user = ++seq;
    ws.send(JSON.stringify({ type: 'ack', clientMessageId: frame.clientMessageId, seq: user }));
    ws.send(
      JSON.stringify({
        type: 'message',
        seq: ++seq,
        role: 'assistant',
        clientMessageId: `reply:${user}`,
        text: frame.text,
      }),
    );
  });
});
server.listen(0, '127.0.0.1', () => console.log(server.address().port));
