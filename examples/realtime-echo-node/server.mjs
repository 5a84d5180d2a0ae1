// A dependency-free Hangar runner with one WebSocket route: `/realtime` sends every frame back as it came
// (binary msgpack from `fal.realtime` included). `POST /` answers `{"ok":true}` so the app also has an
// HTTP route. The handshake and framing are RFC 6455's, written out so the app needs no package.
import { createHash } from 'node:crypto';
import http from 'node:http';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

const server = http.createServer((req, res) => {
  const body = JSON.stringify(req.url === '/health' ? { status: 'ok' } : { ok: true });
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
});

server.on('upgrade', (req, socket) => {
  const key = req.headers['sec-websocket-key'];
  if (req.url.split('?')[0] !== '/realtime' || !key) {
    socket.end('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
    return;
  }
  const accept = createHash('sha1')
    .update(key + GUID)
    .digest('base64');
  socket.write(
    `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`,
  );
  let pending = Buffer.alloc(0);
  socket.on('data', (chunk) => {
    pending = Buffer.concat([pending, chunk]);
    for (let frame = readFrame(pending); frame; frame = readFrame(pending)) {
      pending = pending.subarray(frame.length);
      const opcode = frame.head & 0x0f;
      if (opcode === 0x8) {
        socket.end(frameOf(frame.head, frame.payload));
        return;
      }
      socket.write(frameOf(opcode === 0x9 ? 0x8a : frame.head, frame.payload));
    }
  });
  socket.on('error', () => socket.destroy());
});

/** One whole client frame at the start of `buf` (unmasked), or null while it is incomplete. */
function readFrame(buf) {
  if (buf.length < 2) return null;
  let len = buf[1] & 0x7f;
  let at = 2;
  if (len === 126) {
    if (buf.length < 4) return null;
    len = buf.readUInt16BE(2);
    at = 4;
  } else if (len === 127) {
    if (buf.length < 10) return null;
    len = Number(buf.readBigUInt64BE(2));
    at = 10;
  }
  const masked = (buf[1] & 0x80) !== 0;
  const mask = masked ? buf.subarray(at, at + 4) : null;
  if (masked) at += 4;
  if (buf.length < at + len) return null;
  const payload = Buffer.from(buf.subarray(at, at + len));
  if (mask) for (let i = 0; i < payload.length; i++) payload[i] ^= mask[i & 3];
  return { head: buf[0], payload, length: at + len };
}

/** A server frame (never masked) with the given first byte (FIN and opcode). */
function frameOf(head, payload) {
  const n = payload.length;
  const header = n < 126 ? Buffer.from([head, n]) : Buffer.alloc(n < 65536 ? 4 : 10);
  if (n >= 126 && n < 65536) {
    header[0] = head;
    header[1] = 126;
    header.writeUInt16BE(n, 2);
  } else if (n >= 65536) {
    header[0] = head;
    header[1] = 127;
    header.writeBigUInt64BE(BigInt(n), 2);
  }
  return Buffer.concat([header, payload]);
}

server.listen(Number(process.env.PORT ?? 8080), '127.0.0.1');
for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => server.close(() => process.exit(0)));
