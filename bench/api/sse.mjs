#!/usr/bin/env node
// SSE delivery benchmark: opens N `POST /v1/serverless/logs/stream` clients (app_id=bench-logs), then asks
// the bench-logs runner to print `rate` lines/s for `seconds`; every client measures, for every line it
// receives, now − the epoch ms the runner stamped into the line when it wrote it (same machine clock).
//   node bench/api/sse.mjs --url U --keys keys.json --run-key K --clients 200 --rate 2000 --seconds 20
//        [--streams 1] [--out F.json]
// --streams S > 1 labels lines stream=0..S-1 and gives client i the label filter stream = i mod S.
import { readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { parseArgs } from 'node:util';

const { values: opt } = parseArgs({
  options: {
    url: { type: 'string' },
    keys: { type: 'string' },
    'run-key': { type: 'string' },
    clients: { type: 'string', default: '200' },
    rate: { type: 'string', default: '2000' },
    seconds: { type: 'string', default: '20' },
    streams: { type: 'string', default: '1' },
    out: { type: 'string' },
  },
});
const url = new URL(opt.url);
const keys = JSON.parse(readFileSync(opt.keys, 'utf8'));
const clients = Number(opt.clients);
const rate = Number(opt.rate);
const seconds = Number(opt.seconds);
const streams = Number(opt.streams);
const agent = new http.Agent({ keepAlive: false, maxSockets: Number.POSITIVE_INFINITY });
const MAX_MS = 60_000;
const hist = new Uint32Array(MAX_MS + 1);
let firstSeq = Number.POSITIVE_INFINITY;
const MARK = 'bench-line ';

function openClient(i) {
  const c = { i, connected: false, received: 0, errors: 0, errorText: null, closed: false, carry: '' };
  const body = streams > 1 ? JSON.stringify([{ key: 'stream', value: String(i % streams) }]) : '[]';
  const req = http.request({
    host: url.hostname,
    port: url.port,
    method: 'POST',
    path: '/v1/serverless/logs/stream?app_id=bench-logs',
    agent,
    headers: {
      authorization: `Key ${keys[i % keys.length]}`,
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(body),
      accept: 'text/event-stream',
    },
  });
  c.ready = new Promise((resolve, reject) => {
    req.on('response', (res) => {
      if (res.statusCode !== 200) {
        reject(new Error(`client ${i}: HTTP ${res.statusCode}`));
        res.resume();
        return;
      }
      res.setEncoding('utf8');
      res.on('data', (chunk) => {
        if (!c.connected && chunk.includes(': connected')) {
          c.connected = true;
          resolve();
        }
        onData(c, chunk);
      });
      res.on('end', () => {
        c.closed = true;
        resolve();
      });
    });
    req.on('error', (err) => {
      c.closed = true;
      if (!c.connected) reject(err);
    });
  });
  req.end(body);
  c.req = req;
  return c;
}

function onData(c, chunk) {
  const now = Date.now();
  const text = c.carry + chunk;
  const cut = text.lastIndexOf('\n');
  c.carry = cut < 0 ? text : text.slice(cut + 1);
  const end = Math.max(0, cut);
  if (text.includes('event: error')) {
    c.errors++;
    c.errorText ??= text.slice(text.indexOf('event: error'), text.indexOf('event: error') + 300);
  }
  let pos = text.indexOf(MARK);
  while (pos >= 0 && pos < end) {
    const a = pos + MARK.length;
    const sp = text.indexOf(' ', a);
    const q = text.indexOf('"', sp);
    const seq = Number(text.slice(a, sp));
    const t = Number(text.slice(sp + 1, q));
    if (seq >= firstSeq) {
      c.received++;
      hist[Math.max(0, Math.min(MAX_MS, now - t))]++;
    }
    pos = text.indexOf(MARK, q);
  }
}

function quantile(p) {
  let total = 0;
  for (const n of hist) total += n;
  if (total === 0) return null;
  const rank = Math.ceil((p / 100) * total);
  let seen = 0;
  for (let ms = 0; ms <= MAX_MS; ms++) {
    seen += hist[ms];
    if (seen >= rank) return ms;
  }
  return MAX_MS;
}

async function trigger() {
  const body = JSON.stringify({ rate, seconds, streams });
  const res = await fetch(new URL('/run/acme/bench-logs', url), {
    method: 'POST',
    headers: { authorization: `Key ${opt['run-key']}`, 'content-type': 'application/json' },
    body,
  });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`trigger: HTTP ${res.status} ${text.slice(0, 300)}`);
  return JSON.parse(text);
}

const all = Array.from({ length: clients }, (_, i) => openClient(i));
const t0 = Date.now();
const opened = await Promise.allSettled(all.map((c) => c.ready));
const refused = opened.filter((o) => o.status === 'rejected').map((o) => o.reason.message);
const connectMs = Date.now() - t0;
await new Promise((r) => setTimeout(r, 1000));
// Lines printed before the trigger (none expected) are ignored: only seq >= first_seq counts.
firstSeq = 0;
const started = await trigger();
firstSeq = started.first_seq;
await new Promise((r) => setTimeout(r, (seconds + 3) * 1000));
const closedEarly = all.filter((c) => c.closed).length;
for (const c of all) c.req.destroy();

const expected = Math.round((rate * seconds) / streams);
const received = all.map((c) => c.received);
const result = {
  clients,
  rate,
  seconds,
  streams,
  connect_ms: connectMs,
  refused: refused.length,
  first_refusal: refused[0] ?? null,
  expected_per_client: expected,
  min_received: Math.min(...received),
  mean_received: Math.round(received.reduce((a, b) => a + b, 0) / clients),
  clients_complete: received.filter((n) => n >= expected).length,
  error_events: all.reduce((a, c) => a + c.errors, 0),
  first_error_event: all.find((c) => c.errorText)?.errorText ?? null,
  closed_early: closedEarly,
  deliveries: received.reduce((a, b) => a + b, 0),
  latency_ms: { p50: quantile(50), p95: quantile(95), p99: quantile(99), max: quantile(100) },
};
console.error(JSON.stringify(result));
if (opt.out) writeFileSync(opt.out, `${JSON.stringify(result, null, 2)}\n`);
process.exit(0);
