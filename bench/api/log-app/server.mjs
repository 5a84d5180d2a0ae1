// Benchmark runner that prints log lines at a steady rate, the way a busy app writes to stdout.
// POST / {"rate": lines per second, "seconds": duration, "streams": label values} answers at once and then
// prints JSON lines `{"level":"info","message":"bench-line <seq> <epoch ms>","labels":{"stream":"<k>"}}`,
// in 10 ms ticks; the epoch ms is taken when the line is written, so a reader on the same machine can
// compute delivery latency. `k` cycles through 0..streams-1.
import http from 'node:http';

const TICK_MS = 10;
let seq = 0;

function emit(rate, seconds, streams) {
  const startedAt = Date.now();
  let sent = 0;
  const total = Math.round(rate * seconds);
  const timer = setInterval(() => {
    const due = Math.min(total, Math.round(((Date.now() - startedAt) / 1000) * rate));
    let chunk = '';
    for (; sent < due; sent++) {
      const k = seq % streams;
      chunk += `{"level":"info","message":"bench-line ${seq++} ${Date.now()}","labels":{"stream":"${k}"}}\n`;
    }
    if (chunk) process.stdout.write(chunk);
    if (sent >= total) clearInterval(timer);
  }, TICK_MS);
}

const server = http.createServer((req, res) => {
  if (req.url === '/health') {
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
    return;
  }
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    let input = {};
    try {
      input = JSON.parse(Buffer.concat(chunks).toString() || '{}');
    } catch {}
    const rate = Number(input.rate) || 100;
    const seconds = Number(input.seconds) || 1;
    const streams = Math.max(1, Number(input.streams) || 1);
    emit(rate, seconds, streams);
    const body = JSON.stringify({ started: true, rate, seconds, streams, first_seq: seq });
    res.writeHead(200, { 'content-type': 'application/json' }).end(body);
  });
});
server.listen(Number(process.env.PORT), '127.0.0.1');
process.on('SIGTERM', () => server.close(() => process.exit(0)));
