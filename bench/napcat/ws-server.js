'use strict';
// NapCat's OneBot 11 forward WebSocket stack with no action behind it: the baseline of
// bench/ws.py. A `ws` 8 server as NapCat's WebSocket server adapter
// (packages/napcat-onebot/network/websocket-server.ts) sets it up: a token check on connect,
// a lifecycle event unless the path is /api, and per frame a parse of the request text and
// JSON.stringify of a constant OneBot envelope carrying the request's echo, sent as text.
//
//     node ws-server.js PORT [json|json5] [TOKEN]
//
// The parser defaults to JSON.parse; `json5` parses with JSON5.parse instead.

const JSON5 = require('json5');
const { WebSocket, WebSocketServer } = require('ws');

const port = Number(process.argv[2]);
const parse = process.argv[3] === 'json5' ? JSON5.parse : JSON.parse;
const token = process.argv[4] || '';

function envelope(status, retcode, message, echo) {
  return { status, retcode, data: null, message, wording: message, echo, stream: 'normal-action' };
}

async function reply(socket, body) {
  if (socket.readyState === WebSocket.OPEN) {
    socket.send(JSON.stringify(body));
  }
}

function tokenOk(req) {
  if (!token) {
    return true;
  }
  const url = new URL(req.url || '/', 'http://localhost');
  const fromQuery = url.searchParams.get('access_token');
  const fromHeader = (req.headers.authorization || '').split('Bearer ').pop() || '';
  return (fromQuery || fromHeader) === token;
}

async function onFrame(socket, data) {
  let request;
  try {
    request = parse(data.toString());
  } catch {
    await reply(socket, envelope('failed', 1400, 'invalid JSON', null));
    return;
  }
  request.params = request.params || {};
  await reply(socket, envelope('ok', 0, '', request.echo));
}

const server = new WebSocketServer({ host: '127.0.0.1', port, maxPayload: 50 * 1024 * 1024 });
server.on('listening', () => console.log(`napcat-stack ws listening on 127.0.0.1:${port}`));
server.on('connection', (socket, req) => {
  if (!tokenOk(req)) {
    socket.send(JSON.stringify(envelope('failed', 1403, 'token check failed', null)));
    socket.close();
    return;
  }
  const path = (req.url || '/').split('?')[0];
  if (path !== '/api' && path !== '/api/') {
    const now = Math.floor(Date.now() / 1000);
    const lifecycle = { time: now, self_id: 10001, post_type: 'meta_event' };
    socket.send(JSON.stringify({ ...lifecycle, meta_event_type: 'lifecycle', sub_type: 'connect' }));
  }
  socket.on('error', (err) => console.error('client error:', err.message));
  socket.on('message', (data) => {
    onFrame(socket, data).catch((err) => console.error(err));
  });
});
