#!/usr/bin/env node
// SSE delivery benchmark: opens N `POST /v1/serverless/logs/stream` clients (app_id=bench-logs), then asks
// the bench-logs runner to print `rate` lines/s for `seconds`, and measures how late each line arrives:
// receive time − the epoch ms the runner stamped into the line when it wrote it (same machine clock).
//   node bench/api/sse.mjs --url U --keys keys.json --run-key K --clients 200 --rate 2000 --seconds 20
//        [--streams 1] [--procs 2] [--server-pid PID] [--out F.json]
// --streams S > 1 labels lines stream=0..S-1 and gives client i the label filter stream = i mod S.
// --procs P splits the clients over P child processes (they share the machine with the server).
// --server-pid reports the server's CPU seconds (Linux /proc) beside the clients' and the machine's.
//
// The clients must stay cheap (200 of them share 2 cores with the server at 400,000 deliveries/s), so a
// client does not parse every line: per socket read it counts the lines (a native buffer search) and
// parses only the first and the last. Lines arrive in stamp order, so the first line of a read is the
// oldest, and its delay is an upper bound for every line of that read: each line is counted with that
// bound ("latency_ms" is the distribution of a per-line upper bound, never an underestimate).
// The first and last sequence numbers of each read also prove that no line was skipped or reordered.
import { fork } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
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
    procs: { type: 'string', default: '2' },
    out: { type: 'string' },
    // Linux: also report the CPU time this process (the server) used during the run.
    'server-pid': { type: 'string' },
    // Internal: this process is a child serving clients [from, to).
    child: { type: 'boolean', default: false },
    from: { type: 'string' },
    to: { type: 'string' },
  },
});
const MAX_MS = 60_000;

if (opt.child) await runChild();
else await runParent();

// --- child: a slice of the clients ---

async function runChild() {
  const url = new URL(opt.url);
  const keys = JSON.parse(readFileSync(opt.keys, 'utf8'));
  const streams = Number(opt.streams);
  const hist = new Uint32Array(MAX_MS + 1);
  const MARK = Buffer.from('bench-line ');
  const ERROR = Buffer.from('event: error');

  // Raw sockets rather than http.request: the HTTP parser and stream events per read would make the
  // clients, not the server, the bottleneck. Chunked-encoding size lines only ever sit between frames (the
  // server writes whole frames), so the body bytes are searched as they come.
  const openClient = (i) => {
    const c = { i, connected: false, received: 0, gaps: 0, errors: 0, errorText: null, closed: false };
    c.bytes = 0;
    c.firstSeq = null;
    c.lastSeq = null;
    c.carry = null;
    const body = streams > 1 ? JSON.stringify([{ key: 'stream', value: String(i % streams) }]) : '[]';
    const sock = net.connect({ host: url.hostname, port: Number(url.port) });
    sock.setNoDelay(true);
    c.ready = new Promise((resolve, reject) => {
      let head = Buffer.alloc(0);
      sock.on('data', (chunk) => {
        if (head !== null) {
          head = Buffer.concat([head, chunk]);
          const at = head.indexOf('\r\n\r\n');
          if (at < 0) return;
          const status = head.subarray(0, head.indexOf('\r\n')).toString();
          if (!/^HTTP\/1\.1 200 /.test(status)) {
            reject(new Error(`client ${i}: ${status}`));
            sock.destroy();
            return;
          }
          chunk = head.subarray(at + 4);
          head = null;
        }
        if (!c.connected && chunk.includes(': connected')) {
          c.connected = true;
          resolve();
        }
        onData(c, chunk);
      });
      sock.on('close', () => {
        c.closed = true;
        resolve();
      });
      sock.on('error', (err) => {
        c.closed = true;
        if (!c.connected) reject(err);
      });
    });
    sock.write(
      `POST /v1/serverless/logs/stream?app_id=bench-logs HTTP/1.1\r\nHost: ${url.host}\r\n` +
        `Authorization: Key ${keys[i % keys.length]}\r\nContent-Type: application/json\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nAccept: text/event-stream\r\nConnection: close\r\n\r\n${body}`,
    );
    c.req = sock;
    return c;
  };

  // `bench-line <seq> <ms>"`: returns [seq, ms, index after the line].
  const parseMark = (buf, pos) => {
    let seq = 0;
    let p = pos + MARK.length;
    for (; buf[p] !== 0x20; p++) seq = seq * 10 + buf[p] - 48;
    let ms = 0;
    for (p++; buf[p] !== 0x22; p++) ms = ms * 10 + buf[p] - 48;
    return [seq, ms, p];
  };

  const onData = (c, chunk) => {
    const now = Date.now();
    c.bytes += chunk.length;
    const buf = c.carry ? Buffer.concat([c.carry, chunk]) : chunk;
    const end = buf.lastIndexOf(0x0a) + 1;
    c.carry = end < buf.length ? Buffer.from(buf.subarray(end)) : null;
    if (c.errors === 0 && buf.indexOf(ERROR) >= 0) {
      const at = buf.indexOf(ERROR);
      c.errors++;
      c.errorText = buf.subarray(at, at + 300).toString();
    }
    let pos = buf.indexOf(MARK);
    if (pos < 0 || pos >= end) return;
    const [firstSeq, firstMs] = parseMark(buf, pos);
    let n = 0;
    let last = pos;
    while (pos >= 0 && pos < end) {
      n++;
      last = pos;
      pos = buf.indexOf(MARK, pos + MARK.length);
    }
    const [lastSeq] = parseMark(buf, last);
    if (c.lastSeq !== null && firstSeq !== c.lastSeq + streams) c.gaps++;
    if ((lastSeq - firstSeq) / streams + 1 !== n) c.gaps++;
    c.firstSeq ??= firstSeq;
    c.lastSeq = lastSeq;
    c.received += n;
    hist[Math.max(0, Math.min(MAX_MS, now - firstMs))] += n;
  };

  const from = Number(opt.from);
  const all = Array.from({ length: Number(opt.to) - from }, (_, k) => openClient(from + k));
  const opened = await Promise.allSettled(all.map((c) => c.ready));
  const refused = opened.filter((o) => o.status === 'rejected').map((o) => o.reason.message);
  process.send({ type: 'ready', refused });
  let cpuAtStart = null;
  process.on('message', (m) => {
    if (m.type === 'start') cpuAtStart = process.cpuUsage();
    if (m.type !== 'stop') return;
    const cpu = process.cpuUsage(cpuAtStart ?? undefined);
    const closedEarly = all.filter((c) => c.closed).length;
    for (const c of all) c.req.destroy();
    const sparse = [];
    for (let ms = 0; ms <= MAX_MS; ms++) if (hist[ms]) sparse.push([ms, hist[ms]]);
    const clients = all.map((c) => ({
      received: c.received,
      bytes: c.bytes,
      gaps: c.gaps,
      firstSeq: c.firstSeq,
      errorText: c.errorText,
    }));
    const cpuMs = (cpu.user + cpu.system) / 1000;
    process.send({ type: 'result', refused, closedEarly, hist: sparse, clients, cpuMs }, () =>
      process.exit(0),
    );
  });
}

// --- parent: starts the children, triggers the runner, merges the results ---

async function runParent() {
  const clients = Number(opt.clients);
  const rate = Number(opt.rate);
  const seconds = Number(opt.seconds);
  const streams = Number(opt.streams);
  const procs = Math.max(1, Math.min(clients, Number(opt.procs)));
  const self = fileURLToPath(import.meta.url);
  const base = ['--url', opt.url, '--keys', opt.keys, '--streams', opt.streams];
  const t0 = Date.now();
  const children = Array.from({ length: procs }, (_, p) => {
    const from = Math.floor((clients * p) / procs);
    const to = Math.floor((clients * (p + 1)) / procs);
    const child = fork(self, [...base, '--child', '--from', String(from), '--to', String(to)]);
    const next = (type) =>
      new Promise((resolve, reject) => {
        const onMessage = (m) => {
          if (m.type !== type) return;
          child.off('message', onMessage);
          resolve(m);
        };
        child.on('message', onMessage);
        child.once('exit', (code) => reject(new Error(`client process exited (${code}) before ${type}`)));
      });
    return { child, ready: next('ready'), result: next('result') };
  });
  const ready = await Promise.all(children.map((c) => c.ready));
  const refused = ready.flatMap((r) => r.refused);
  const connectMs = Date.now() - t0;
  await new Promise((r) => setTimeout(r, 1000));

  for (const c of children) c.child.send({ type: 'start' });
  const serverCpu0 = serverCpuMs();
  const machine0 = machineBusyMs();
  const res = await fetch(new URL('/run/acme/bench-logs', opt.url), {
    method: 'POST',
    headers: { authorization: `Key ${opt['run-key']}`, 'content-type': 'application/json' },
    body: JSON.stringify({ rate, seconds, streams }),
  });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`trigger: HTTP ${res.status} ${text.slice(0, 300)}`);
  const firstSeq = JSON.parse(text).first_seq;
  await new Promise((r) => setTimeout(r, (seconds + 3) * 1000));
  const serverCpu = serverCpu0 === null ? null : serverCpuMs() - serverCpu0;
  const machine = machine0 === null ? null : machineBusyMs() - machine0;
  for (const c of children) c.child.send({ type: 'stop' });
  const results = await Promise.all(children.map((c) => c.result));

  const hist = new Uint32Array(MAX_MS + 1);
  for (const r of results) for (const [ms, n] of r.hist) hist[ms] += n;
  const per = results.flatMap((r) => r.clients);
  const expected = Math.round((rate * seconds) / streams);
  const received = per.map((c) => c.received);
  const result = {
    clients,
    rate,
    seconds,
    streams,
    client_processes: procs,
    connect_ms: connectMs,
    refused: refused.length,
    first_refusal: refused[0] ?? null,
    expected_per_client: expected,
    min_received: Math.min(...received),
    mean_received: Math.round(received.reduce((a, b) => a + b, 0) / clients),
    clients_complete: received.filter((n) => n >= expected).length,
    // Reads whose sequence numbers skipped or repeated a line, and lines from before the trigger.
    gaps: per.reduce((a, c) => a + c.gaps, 0),
    clients_with_older_lines: per.filter((c) => c.firstSeq !== null && c.firstSeq < firstSeq).length,
    error_events: per.filter((c) => c.errorText).length,
    first_error_event: per.find((c) => c.errorText)?.errorText ?? null,
    closed_early: results.reduce((a, r) => a + r.closedEarly, 0),
    deliveries: received.reduce((a, b) => a + b, 0),
    // Response body bytes (SSE plus chunked framing) over all clients, per second of the run.
    mb_per_s: Math.round(per.reduce((a, c) => a + c.bytes, 0) / seconds / 1e5) / 10,
    // CPU seconds used over the whole measured window (seconds + 3 s), summed over processes.
    cpu_s: {
      server: serverCpu === null ? null : Math.round(serverCpu / 100) / 10,
      clients: Math.round(results.reduce((a, r) => a + r.cpuMs, 0) / 100) / 10,
      // Every busy CPU of the machine: server + clients + the runner app + the kernel + anything else.
      machine: machine === null ? null : Math.round(machine / 100) / 10,
      machine_capacity: os.availableParallelism() * (seconds + 3),
    },
    latency_bound: 'per line: receive time of its read − stamp of the oldest line in that read',
    latency_ms: {
      p50: quantile(hist, 50),
      p95: quantile(hist, 95),
      p99: quantile(hist, 99),
      max: quantile(hist, 100),
    },
  };
  console.error(JSON.stringify(result));
  if (opt.out) writeFileSync(opt.out, `${JSON.stringify(result, null, 2)}\n`);
  process.exit(0);
}

function serverCpuMs() {
  if (!opt['server-pid']) return null;
  try {
    const stat = readFileSync(`/proc/${opt['server-pid']}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1000) / 100; // utime + stime, in USER_HZ (100/s)
  } catch {
    return null;
  }
}

function machineBusyMs() {
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    return ((f[0] + f[1] + f[2] + f[5] + f[6] + f[7]) * 1000) / 100; // user nice system irq softirq steal
  } catch {
    return null;
  }
}

function quantile(hist, p) {
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
