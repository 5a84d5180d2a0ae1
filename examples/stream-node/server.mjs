// A dependency-free Hangar runner that streams: server-sent events (what `fal.stream` reads) or
// newline-delimited JSON, one chunk at a time, with billing sent as an HTTP trailer at the end.
import http from 'node:http';

let inFlight = 0;
let closing = false;

function log(message, requestId) {
  process.stdout.write(`${JSON.stringify({ level: 'info', message, request_id: requestId })}\n`);
}

function readJson(req) {
  return new Promise((resolve) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      try {
        const raw = Buffer.concat(chunks).toString('utf8');
        const input = raw === '' ? {} : JSON.parse(raw);
        resolve(input !== null && typeof input === 'object' ? input : {});
      } catch {
        resolve(null);
      }
    });
  });
}

/**
 * Input (all optional): `events` (default 5), `interval_ms` between them (default 300), `pad` bytes of
 * filler per event, `format` `"sse"` (default) or `"ndjson"`, `units` billed through the
 * `x-fal-billable-units` trailer, `break_after` N events then drop the connection.
 * Each event is `{"i": n, "at": <ms since epoch when written, sub-ms>, "pad": "…"}`.
 */
async function handleStream(req, res) {
  const input = await readJson(req);
  const requestId = req.headers['x-fal-request-id'] ?? null;
  if (input === null) {
    res.writeHead(422, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ detail: [{ loc: ['body'], msg: 'Invalid JSON', type: 'json_invalid' }] }));
    return;
  }
  const total = Number(input.events ?? 5);
  const interval = Number(input.interval_ms ?? 300);
  const pad = 'x'.repeat(Number(input.pad ?? 0));
  const sse = input.format !== 'ndjson';
  const head = {
    'content-type': sse ? 'text/event-stream' : 'application/x-ndjson',
    'cache-control': 'no-cache',
  };
  if (input.units !== undefined) head.trailer = 'x-fal-billable-units';
  res.writeHead(200, head);
  let sent = 0;
  let timer = null;
  res.on('close', () => {
    clearTimeout(timer);
    if (sent < total) log(`stream closed by caller after ${sent} events`, requestId);
  });
  const next = () => {
    if (input.break_after !== undefined && sent === Number(input.break_after)) {
      req.socket.destroy();
      return;
    }
    const event = JSON.stringify({ i: sent + 1, at: performance.timeOrigin + performance.now(), pad });
    res.write(sse ? `data: ${event}\n\n` : `${event}\n`);
    sent++;
    if (sent < total) {
      timer = setTimeout(next, interval);
      return;
    }
    if (input.units !== undefined) res.addTrailers({ 'x-fal-billable-units': String(input.units) });
    res.end();
  };
  log(`streaming ${total} events`, requestId);
  next();
}

const server = http.createServer({ keepAlive: true }, (req, res) => {
  inFlight++;
  res.on('close', () => {
    inFlight--;
    if (closing && inFlight === 0) process.exit(0);
  });
  const path = req.url.split('?', 1)[0];
  if (req.method === 'GET' && path === '/health') {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': 15 });
    res.end('{"status":"ok"}');
    return;
  }
  if (path === '/' || path === '/stream') {
    handleStream(req, res);
    return;
  }
  res.writeHead(404, { 'content-type': 'application/json' });
  res.end('{"detail":"Not Found"}');
});
server.keepAliveTimeout = 75_000;

process.on('SIGTERM', () => {
  closing = true;
  server.close();
  server.closeIdleConnections();
  if (inFlight === 0) process.exit(0);
});

server.listen(Number(process.env.PORT ?? 8000), '127.0.0.1');
