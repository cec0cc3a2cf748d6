'use strict';
// Echo peer for FastSidecar interop tests, built on Node's `ws`.
// Protocol (shared with the Python and Kestrel peers; see Peers/EchoProtocol.cs):
//   any binary message, or text not starting with "@@"  -> echoed unchanged, same type
//   "@@fragment:<n>"          -> the NEXT echo goes out as n frames (raw byte split, so text may split inside a UTF-8 sequence)
//   "@@ping:<payload>"        -> sends a ping with that payload; the client's pong is reported back as text "@@pong:<payload>"
//   "@@close:<code>:<reason>" -> starts the close handshake with that status; bare "@@close" sends a close frame without a body
//   "@@terminate"             -> drops the TCP connection without a close frame
//   "@@flood:<n>:<size>"      -> n binary messages of size bytes (a little-endian 64-bit sequence number first when
//                                size >= 8), framed here and written in large chunks, so the peer outpaces the client
//   any other "@@..." text    -> echoed unchanged
// A request ws refuses (a ping over 125 bytes, a close code not valid on the wire) is answered with text "@@error:<message>".
// Prints "LISTENING <port>" once bound; exits when stdin closes so a crashed test run cannot leak it.

let WebSocketServer;
try {
  ({ WebSocketServer } = require('ws'));
} catch (err) {
  process.stderr.write(`PEER-MISSING Node package 'ws' is not installed (${err.message}); run ./test.sh\n`);
  process.exit(3);
}

const MAX_PAYLOAD = 256 * 1024 * 1024;
const PREFIX = '@@';

// "--tls CERT KEY" serves wss:// from an https server with that PEM certificate and key.
const tlsAt = process.argv.indexOf('--tls');
const serverOptions = {
  maxPayload: MAX_PAYLOAD,
  // ECHO_DEFLATE=1: permessage-deflate on every message (threshold 0); "nocontext" also drops context takeover both ways.
  perMessageDeflate: process.env.ECHO_DEFLATE
    ? {
        threshold: 0,
        serverNoContextTakeover: process.env.ECHO_DEFLATE === 'nocontext',
        clientNoContextTakeover: process.env.ECHO_DEFLATE === 'nocontext',
      }
    : false,
  clientTracking: true,
};
let httpsServer = null;
if (tlsAt >= 0) {
  const fs = require('fs');
  const https = require('https');
  httpsServer = https.createServer({ cert: fs.readFileSync(process.argv[tlsAt + 1]), key: fs.readFileSync(process.argv[tlsAt + 2]) });
  serverOptions.server = httpsServer;
} else {
  serverOptions.host = '127.0.0.1';
  // ECHO_PORT: listen on that port (a restarted peer comes back where its clients reconnect); default any free port.
  serverOptions.port = Number(process.env.ECHO_PORT || 0);
}
const wss = new WebSocketServer(serverOptions);

// Unmasked binary frames of `size` bytes, as many as fit in about 1 MiB, written straight to the socket: ws frames
// each send() in JavaScript, which would make the peer, not the client, the limit of a receive-rate measurement.
function sendFlood(ws, count, size, state) {
  const headerLength = size < 126 ? 2 : size < 65536 ? 4 : 10;
  const frameLength = headerLength + size;
  const perChunk = Math.max(1, Math.floor((1 << 20) / frameLength));
  const template = Buffer.alloc(frameLength);
  template[0] = 0x82;
  if (size < 126) template[1] = size;
  else if (size < 65536) { template[1] = 126; template.writeUInt16BE(size, 2); }
  else { template[1] = 127; template.writeBigUInt64BE(BigInt(size), 2); }
  while (count > 0) {
    const frames = Math.min(count, perChunk);
    const chunk = Buffer.allocUnsafe(frames * frameLength);
    for (let i = 0; i < frames; i++) {
      const at = i * frameLength;
      template.copy(chunk, at);
      if (size >= 8) chunk.writeBigInt64LE(BigInt(state.sequence), at + headerLength);
      state.sequence++;
    }
    ws._socket.write(chunk);
    count -= frames;
  }
}

function sendFragmented(ws, data, isBinary, count) {
  // ws sends one frame per send() call when fin is false, and a continuation for each later call.
  const n = Math.max(1, count);
  const size = Math.ceil(data.length / n);
  for (let i = 0; i < n; i++) {
    const chunk = data.subarray(Math.min(i * size, data.length), Math.min((i + 1) * size, data.length));
    ws.send(chunk, { binary: isBinary, fin: i === n - 1, compress: false });
  }
}

wss.on('connection', (ws) => {
  let fragmentNext = 0;
  let pendingPings = 0;
  const flood = { sequence: 0 };

  // Returns true when the text was a command and has been handled.
  function runCommand(body) {
    if (body.startsWith('fragment:')) {
      fragmentNext = Math.max(1, parseInt(body.slice('fragment:'.length), 10) || 1);
      return true;
    }
    if (body.startsWith('ping:')) {
      ws.ping(Buffer.from(body.slice('ping:'.length), 'utf8'));
      pendingPings++;
      return true;
    }
    if (body === 'close') {
      ws.close();
      return true;
    }
    if (body.startsWith('close:')) {
      const rest = body.slice('close:'.length);
      const sep = rest.indexOf(':');
      const code = parseInt(sep < 0 ? rest : rest.slice(0, sep), 10);
      ws.close(code, sep < 0 ? '' : rest.slice(sep + 1));
      return true;
    }
    if (body.startsWith('flood:')) {
      const [count, size] = body.slice('flood:'.length).split(':').map((v) => parseInt(v, 10));
      sendFlood(ws, count, size, flood);
      return true;
    }
    if (body === 'terminate') {
      ws.terminate();
      return true;
    }
    return false;
  }

  ws.on('message', (data, isBinary) => {
    if (!isBinary && data.length >= 2 && data[0] === 0x40 && data[1] === 0x40) {
      try {
        if (runCommand(data.toString('utf8').slice(PREFIX.length))) return;
      } catch (err) {
        // ws refuses some requests (a ping over 125 bytes, a close code that is not valid on the wire).
        ws.send(PREFIX + 'error:' + err.message, { binary: false });
        return;
      }
    }
    if (fragmentNext > 0) {
      const n = fragmentNext;
      fragmentNext = 0;
      sendFragmented(ws, data, isBinary, n);
    } else {
      ws.send(data, { binary: isBinary, compress: false });
    }
  });

  ws.on('pong', (data) => {
    // Only pongs that answer a requested ping are reported, so unsolicited keep-alive pongs stay invisible.
    if (pendingPings > 0) {
      pendingPings--;
      ws.send(PREFIX + 'pong:' + data.toString('utf8'), { binary: false });
    }
  });

  ws.on('error', (err) => process.stderr.write(`connection error: ${err.message}\n`));
});

wss.on('listening', () => {
  process.stdout.write(`LISTENING ${wss.address().port}\n`);
});

wss.on('error', (err) => {
  process.stderr.write(`server error: ${err.message}\n`);
  process.exit(2);
});

function shutdown() {
  for (const client of wss.clients) client.terminate();
  wss.close();
  process.exit(0);
}

if (httpsServer) httpsServer.listen(0, '127.0.0.1');

process.stdin.on('end', shutdown);
process.stdin.on('close', shutdown);
process.stdin.on('error', shutdown);
process.stdin.resume();
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
