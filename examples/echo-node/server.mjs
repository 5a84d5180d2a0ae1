// A dependency-free Hangar runner: echoes its JSON input and can sleep, fail, crash, log and bill on demand.
// It is also the benchmark's trivial runner, so the hot path does no logging and no extra allocation.
import { appendFileSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';

const RUNNER_ID = process.env.HANGAR_RUNNER_ID ?? null;
const PROGRESS_EVERY_MS = 200;
const SLOW_DEFAULT_MS = 2000;

/** Sleeps started by requests, by request id, so `<route>/cancel` can abort them. */
const sleeping = new Map();
let inFlight = 0;
let closing = false;

function log(level, message, requestId) {
  process.stdout.write(`${JSON.stringify({ level, message, request_id: requestId })}\n`);
}

function send(res, status, body, headers) {
  const payload = JSON.stringify(body);
  const head = { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) };
  if (headers) Object.assign(head, headers);
  if (closing) head.connection = 'close';
  res.writeHead(status, head);
  res.end(payload);
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => resolve(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** Resolves `true` after `ms`, or `false` as soon as the request is cancelled. */
function sleep(requestId, ms, onTick) {
  return new Promise((resolve) => {
    const ticker = onTick ? setInterval(onTick, PROGRESS_EVERY_MS) : null;
    const done = (finished) => {
      clearTimeout(timer);
      if (ticker) clearInterval(ticker);
      if (requestId) sleeping.delete(requestId);
      resolve(finished);
    };
    const timer = setTimeout(() => done(true), ms);
    if (requestId) sleeping.set(requestId, () => done(false));
  });
}

function billingHeader(units) {
  const n = Number(units);
  if (!Number.isFinite(n)) return undefined;
  return { 'x-fal-billable-units': Number.isInteger(n) ? String(n) : n.toFixed(8) };
}

async function handleRun(req, res, route) {
  const raw = await readBody(req);
  let input;
  try {
    input = raw.length === 0 ? {} : JSON.parse(raw);
  } catch {
    send(res, 422, { detail: [{ loc: ['body'], msg: 'Invalid JSON', type: 'json_invalid' }] });
    return;
  }
  const opts = input !== null && typeof input === 'object' ? input : {};
  const requestId = req.headers['x-fal-request-id'];
  const slow = route === '/slow';
  const ms = Number(opts.sleep_ms ?? (slow ? SLOW_DEFAULT_MS : 0));
  if (ms > 0) {
    let step = 0;
    const tick = slow ? () => log('info', `progress ${++step}`, requestId ?? null) : undefined;
    if (!(await sleep(requestId, ms, tick))) {
      send(res, 400, { detail: 'cancelled' });
      return;
    }
  }
  if (opts.record && process.env.DATA_DIR) {
    // One line per finished run, so tests can count how often each request ran to its end.
    appendFileSync(join(process.env.DATA_DIR, 'echo-runs.log'), `${requestId ?? '-'} ${RUNNER_ID ?? '-'}\n`);
  }
  for (let i = 0; i < Number(opts.logs ?? 0); i++) log('info', `log line ${i + 1}`, requestId ?? null);
  const fail = opts.fail === undefined ? undefined : String(opts.fail);
  if (fail === 'crash') process.exit(1);
  if (fail === '500' || fail === '503') {
    send(res, Number(fail), { detail: `requested failure ${fail}` });
    return;
  }
  const headers = opts.billable_units === undefined ? undefined : billingHeader(opts.billable_units);
  if (opts.status !== undefined) {
    send(res, Number(opts.status), { detail: opts.detail ?? `requested status ${opts.status}` }, headers);
    return;
  }
  send(res, 200, { echo: input, runner: RUNNER_ID }, headers);
}

async function handleCancel(req, res) {
  await readBody(req);
  const requestId = req.headers['x-fal-request-id'];
  log('info', 'cancellation requested', requestId ?? null);
  const abort = requestId ? sleeping.get(requestId) : undefined;
  if (abort) abort();
  send(res, 200, { cancelled: Boolean(abort) });
}

const ROUTES = new Set(['/', '/slow']);

function route(req, res) {
  const path = req.url.split('?', 1)[0];
  if (req.method === 'GET' && path === '/health') return send(res, 200, { status: 'ok' });
  if (req.method !== 'POST') return send(res, 405, { detail: 'Method Not Allowed' });
  if (ROUTES.has(path)) return handleRun(req, res, path);
  if (path.endsWith('/cancel') && ROUTES.has(path.slice(0, -'/cancel'.length) || '/')) {
    return handleCancel(req, res);
  }
  return send(res, 404, { detail: 'Not Found' });
}

const server = http.createServer({ keepAlive: true }, (req, res) => {
  inFlight++;
  res.on('close', () => {
    inFlight--;
    if (closing && inFlight === 0) process.exit(0);
  });
  Promise.resolve(route(req, res)).catch((err) => {
    if (!res.headersSent) send(res, 500, { detail: String(err?.message ?? err) });
  });
});
// Longer than any proxy's idle pool timeout, so the proxy closes idle connections first.
server.keepAliveTimeout = 75_000;
server.headersTimeout = 80_000;

process.on('SIGTERM', () => {
  closing = true;
  server.close();
  server.closeIdleConnections();
  if (inFlight === 0) process.exit(0);
});

server.listen(Number(process.env.PORT ?? 8000), '127.0.0.1');
