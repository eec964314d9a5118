'use strict';
// NapCat's OneBot 11 HTTP stack with no action behind it: the baseline of
// bench/recent_contact.py. The middleware chain follows the order NapCat's HTTP server
// adapter (packages/napcat-onebot/network/http-server.ts) builds: cors, urlencoded bodies,
// a raw body reader that parses the text with JSON5, a token check, then the action handler.
// Every action answers one constant OneBot envelope through res.json.
//
//     node http-server.js PORT [TOKEN]

const http = require('node:http');
const cors = require('cors');
const express = require('express');
const JSON5 = require('json5');
const onFinished = require('on-finished');
const typeIs = require('type-is');

const port = Number(process.argv[2]);
const token = process.argv[3] || '';

function okEnvelope(echo, _action) {
  return {
    status: 'ok',
    retcode: 0,
    data: null,
    message: '',
    wording: '',
    echo,
    stream: 'normal-action',
  };
}

// Read the whole body as text and parse it with JSON5, whatever its content type says.
function json5Body(req, res, next) {
  if (onFinished.isFinished(req) || !typeIs.hasBody(req)) {
    next();
    return;
  }
  req.headers['content-type'] = 'application/json';
  let text = '';
  req.on('data', (chunk) => {
    text += chunk;
  });
  req.on('end', () => {
    let parsed;
    try {
      parsed = JSON5.parse(text || '{}');
    } catch {
      res.status(400).send('Invalid JSON');
      return;
    }
    req.body = { ...parsed, ...req.body };
    next();
  });
  req.on('error', () => res.status(400).send('Invalid JSON'));
}

// Bearer header or ?access_token=; with no token configured everyone passes.
function checkToken(req, res, next) {
  if (!token) {
    next();
    return;
  }
  const fromHeader = (req.headers.authorization || '').split('Bearer ').pop() || '';
  const fromQuery = req.query.access_token;
  const given = typeof fromQuery === 'string' && fromQuery !== '' ? fromQuery : fromHeader;
  if (given === token) {
    next();
    return;
  }
  res.status(403).send(JSON.stringify({ message: 'token verify failed!' }));
}

async function action(req, res) {
  const params = req.method === 'GET' ? req.query : { ...req.body, ...req.query };
  if (req.path === '/' || req.path === '') {
    res.json({ ...okEnvelope(null), data: {}, message: 'running' });
    return;
  }
  const name = req.path.split('/')[1]; // the action; every one answers the same here
  res.json(okEnvelope(params.echo ?? null, name));
}

const app = express();
app.use(cors());
app.use(express.urlencoded({ extended: true, limit: '5000mb' }));
app.use(json5Body);
app.use(checkToken);
app.use(action);

http.createServer(app).listen(port, '127.0.0.1', () => {
  console.log(`napcat-stack http listening on 127.0.0.1:${port}`);
});
