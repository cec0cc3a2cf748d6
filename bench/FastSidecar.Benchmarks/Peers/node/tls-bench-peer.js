'use strict';
// wss:// peer for the TLS benchmark: Node's `ws` on an `https` server, another process than the client.
// Usage: node tls-bench-peer.js CERT.pem KEY.pem (with NODE_PATH pointing at a node_modules that has `ws`, e.g. the
// interop tests' tests/FastSidecar.Tests/peers/node/node_modules).
// Paths, as the runner's other servers:
//   /echo                    -> echoes every message, same type
//   /flood?size=N&count=M    -> sends M binary messages of N bytes, then echoes
//   /sink?count=M            -> takes M messages, answers text "done", then echoes
// Prints "LISTENING <port>" once bound; exits when stdin closes.
const fs = require('fs');
const https = require('https');
const { WebSocketServer } = require('ws');

const server = https.createServer({ cert: fs.readFileSync(process.argv[2]), key: fs.readFileSync(process.argv[3]) });
const wss = new WebSocketServer({ server, perMessageDeflate: false, maxPayload: 64 * 1024 * 1024 });

function flood(ws, message, remaining) {
  // Keep the socket's buffer topped up without holding all M messages in memory at once.
  while (remaining > 0 && ws.bufferedAmount < 1 << 20) {
    ws.send(message, { binary: true, compress: false });
    remaining--;
  }
  if (remaining > 0) setImmediate(() => flood(ws, message, remaining));
}

wss.on('connection', (ws, request) => {
  const url = new URL(request.url, 'https://localhost');
  const count = parseInt(url.searchParams.get('count') || '0', 10);
  let sinkLeft = url.pathname === '/sink' ? count : 0;
  ws.on('message', (data, isBinary) => {
    if (sinkLeft > 0) {
      if (--sinkLeft === 0) ws.send('done', { binary: false, compress: false });
      return;
    }
    ws.send(data, { binary: isBinary, compress: false });
  });
  ws.on('error', () => {});
  if (url.pathname === '/flood') {
    flood(ws, Buffer.alloc(parseInt(url.searchParams.get('size') || '64', 10)), count);
  }
});

server.listen(0, '127.0.0.1', () => process.stdout.write(`LISTENING ${server.address().port}\n`));
function shutdown() {
  for (const client of wss.clients) client.terminate();
  process.exit(0);
}
process.stdin.on('end', shutdown);
process.stdin.on('close', shutdown);
process.stdin.resume();
