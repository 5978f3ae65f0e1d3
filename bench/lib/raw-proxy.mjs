#!/usr/bin/env node
// The baseline gateway: about the least a Node proxy can do. Forwards POST
// /v1/chat/completions to the upstream over keep-alive sockets and pipes the answer back
// as it arrives (streams included). No auth, no parsing, no logging.
//   node bench/lib/raw-proxy.mjs <port> <upstreamPort>
import { Agent, createServer, request } from 'node:http';

const [port, upstreamPort] = process.argv.slice(2).map(Number);
const agent = new Agent({ keepAlive: true, maxSockets: Infinity });
// Hop-by-hop headers belong to one connection, not to the message.
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'proxy-connection', 'te', 'trailer']);
const endToEnd = (headers) => Object.fromEntries(Object.entries(headers).filter(([name]) => !HOP_BY_HOP.has(name)));

const server = createServer((req, res) => {
  if (req.method !== 'POST' || req.url !== '/v1/chat/completions') {
    req.resume();
    return void res.writeHead(404).end();
  }
  const upstream = request({ host: '127.0.0.1', port: upstreamPort, method: 'POST', path: req.url, headers: endToEnd(req.headers), agent }, (answer) => {
    res.writeHead(answer.statusCode, endToEnd(answer.headers));
    answer.pipe(res);
  });
  upstream.on('error', () => {
    if (!res.headersSent) res.writeHead(502);
    res.end();
  });
  // A client that goes away takes its upstream call with it.
  res.on('close', () => res.writableFinished || upstream.destroy());
  req.pipe(upstream);
});
server.listen(port, '127.0.0.1', () => console.log('listening'));
process.on('SIGTERM', () => process.exit(0));
