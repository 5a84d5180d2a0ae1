// Turns a bench/api/run.sh output directory into Markdown: prints it and writes RESULTS.md.
//   node bench/api/report.mjs <run output dir> <RESULTS.md>
import { execSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const [outDir, resultsPath] = process.argv.slice(2);
if (!outDir || !resultsPath) {
  process.stderr.write('usage: report.mjs <run output dir> <RESULTS.md>\n');
  process.exit(2);
}
const UNIT_MS = { us: 0.001, ms: 1, s: 1000, m: 60_000 };
const file = (f) => join(outDir, f);
const read = (f) => (existsSync(file(f)) ? readFileSync(file(f), 'utf8').trim() : '');
const readJson = (f) => (existsSync(file(f)) ? JSON.parse(readFileSync(file(f), 'utf8')) : null);
const sh = (cmd) => {
  try {
    return execSync(cmd, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
  } catch {
    return 'unknown';
  }
};
const f0 = (n) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '—');
const f1 = (n) => (Number.isFinite(n) ? n.toFixed(1) : '—');
const f2 = (n) => (Number.isFinite(n) ? n.toFixed(2) : '—');

function parseWrk(name) {
  const text = read(`gw-${name}.txt`);
  if (!text) return null;
  const latency = (p) => {
    const m = new RegExp(`^\\s+${p}%\\s+([\\d.]+)(us|ms|s|m)\\s*$`, 'm').exec(text);
    return m ? Number(m[1]) * UNIT_MS[m[2]] : Number.NaN;
  };
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(text);
  return {
    rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(text)?.[1]),
    p50: latency(50),
    p99: latency(99),
    bad:
      Number(/Non-2xx or 3xx responses: (\d+)/.exec(text)?.[1] ?? 0) +
      (sock ? sock.slice(1).reduce((s, n) => s + Number(n), 0) : 0),
  };
}

const table = (head, rows) =>
  [
    `| ${head.join(' | ')} |`,
    `| ${head.map(() => '---').join(' | ')} |`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ].join('\n');
const verdict = (value, target) =>
  !Number.isFinite(value) ? 'not run' : value <= target ? 'pass' : '**miss**';

const seed = readJson('seed.json');
const ops = readJson('ops.json')?.ops ?? [];
const ref = ops.find((o) => o.name === 'ref_apps');
const lines = [];
lines.push('## Platform API benchmark (`npm run bench:api`)', '');
lines.push(
  `Run ${new Date().toISOString().replace(/\.\d+Z$/, 'Z')} on ${sh('nproc')} CPUs (${sh("lscpu | sed -n 's/^Model name: *//p'")}), Node ${process.version}, ${sh("wrk -v 2>&1 | head -1 | sed 's/ Copyright.*//'")}.`,
);
lines.push(`Load average before: \`${read('load-before.txt')}\`; after: \`${read('load-after.txt')}\`.`, '');

if (seed) {
  const c = seed.counts;
  const t = seed.timings;
  lines.push(
    `Seed: ${f0(c.requests)} completed requests, ${f0(c.logs)} log lines, ${f0(c.meter)} meter rows, ${f0(c.samples)} runner samples and ${f0(c.events)} events over ${seed.args.days} days (${new Date(seed.start).toISOString()} – ${new Date(seed.end).toISOString()}), 3 owners, 20 apps (${seed.endpoints.length} endpoints), schema version ${seed.schema_version}. ` +
      `Seeding took ${f1(t.seed_ms / 1000)} s with the log search index filled by ${t.fts_mode === 'bulk' ? 'one rebuild' : 'its insert trigger'}` +
      `${t.fts_rebuild_ms ? ` (rebuild ${f1(t.fts_rebuild_ms / 1000)} s)` : ''}, \`rebuildRollups\` ${t.rollups_ms === null ? 'absent' : `${f1(t.rollups_ms / 1000)} s`}, checkpoint ${f1(t.checkpoint_ms / 1000)} s (seeded ${seed.created_at}).`,
    '',
  );
}

lines.push('### Operations', '');
lines.push(
  `Client-side latency in ms (undici, keep-alive), ${ops[0]?.sequential.n ?? '—'} sequential requests per operation after a warm-up, then the same number with ${ops[0]?.concurrency ?? '—'} in flight. ` +
    '"× ref" is the sequential p95 over the p95 of the same-run reference `GET /v1/serverless/apps`. "first" is the very first call (cold page and statement caches). Pass/miss is judged on the sequential p95.',
  '',
);
lines.push(
  table(
    [
      'operation',
      'first',
      'p50',
      'p95',
      'p99',
      '× ref',
      `p95 ×${ops[0]?.concurrency ?? ''}`,
      `p99 ×${ops[0]?.concurrency ?? ''}`,
      'target p95',
      'result',
    ],
    ops.map((o) => {
      const s = o.sequential;
      const c = o.concurrent;
      const errs = s.errors + c.errors;
      const ratio = ref?.sequential.p95 ? s.p95 / ref.sequential.p95 : Number.NaN;
      const result = o.target_p95_ms ? verdict(s.p95, o.target_p95_ms) : '';
      return [
        o.label,
        f1(o.first_ms),
        f2(s.p50),
        f2(s.p95),
        f2(s.p99),
        o.name === 'ref_apps' ? '1' : f1(ratio),
        f2(c.p95),
        f2(c.p99),
        o.target_p95_ms ? `≤ ${o.target_p95_ms} ms` : '',
        errs > 0 ? `${result} (${errs} errors)` : result,
      ];
    }),
  ),
  '',
);
const errored = ops.filter((o) => o.sequential.errors + o.concurrent.errors > 0);
for (const o of errored)
  lines.push(
    `- ${o.name}: first error: \`${(o.sequential.first_error ?? o.concurrent.first_error).slice(0, 300)}\``,
  );
if (errored.length) lines.push('');

lines.push('### Log stream (SSE)', '');
lines.push(
  'The `bench-logs` runner (bench/api/log-app) prints JSON lines on stdout, stamping each with the wall-clock ms at write time; lines travel the real path (runner stdout → log sink → store + bus → SSE). Latency = client receive time − stamp for every (line, client) pair, as an upper bound: each line counts with the delay of the oldest line in the same socket read (clients parse only the first and last line of a read, and check from their sequence numbers that no line is missing). The clients run in 2 processes. Clients tail `app_id=bench-logs`; with 20 label values client *i* sends the label filter `stream = i mod 20` (each line reaches 10 clients: 20,000 deliveries/s), otherwise every client receives every line (200 clients: 400,000 deliveries/s, about 110 MB/s of SSE on the same 2 cores as the clients).',
  '',
);
const sseRows = ['filtered', 'all', 'all-small']
  .map((s) => [s, readJson(`sse-${s}.json`)])
  .filter(([, r]) => r);
lines.push(
  table(
    [
      'scenario',
      'clients connected',
      'lines/s',
      'deliveries',
      'complete clients',
      'p50 ms',
      'p95 ms',
      'p99 ms',
      'max ms',
      'target p99',
      'result',
    ],
    sseRows.map(([, r]) => [
      r.streams === 1
        ? `${r.clients} clients, each gets every line`
        : `${r.clients} clients, ${r.streams} label values (filter per client)`,
      `${r.clients - r.refused}/${r.clients}`,
      f0(r.rate),
      f0(r.deliveries),
      `${r.clients_complete}/${r.clients} (min ${f0(r.min_received)} of ${f0(r.expected_per_client)})`,
      f0(r.latency_ms.p50),
      f0(r.latency_ms.p95),
      f0(r.latency_ms.p99),
      f0(r.latency_ms.max),
      '≤ 100 ms',
      r.refused || r.clients_complete < r.clients
        ? `${verdict(r.latency_ms.p99, 100)} (incomplete)`
        : verdict(r.latency_ms.p99, 100),
    ]),
  ),
  '',
);
for (const [s, r] of sseRows) {
  if (r.first_refusal || r.first_error_event)
    lines.push(
      `- ${s}: ${r.first_refusal ?? ''} ${r.first_error_event ? `error event: \`${r.first_error_event.replace(/\n/g, ' ')}\`` : ''}`,
    );
}

lines.push('', '### Gateway under API load', '');
lines.push(
  '`wrk` POSTs to `/run/acme/bench-echo` (examples/echo-node, one runner), at rest and while `measure.mjs loop` runs the heavy operations back to back with 2 in flight. "paced": 10 connections each pausing 10 ms between requests (a steady moderate rate); "closed loop": 16 connections as fast as possible.',
  '',
);
const gwRows = ['paced', 'closed'].map((k) => [
  k,
  parseWrk(`${k}-rest`),
  parseWrk(`${k}-load`),
  readJson(`loop-${k}-load.json`),
]);
lines.push(
  table(
    [
      'load',
      'rest rps',
      'rest p50',
      'rest p99',
      'loaded rps',
      'loaded p50',
      'loaded p99',
      'API queries done',
      'p99 ratio',
      'target',
      'result',
    ],
    gwRows.map(([k, a, b, loop]) => {
      const ratio = a && b ? b.p99 / a.p99 : Number.NaN;
      return [
        k === 'paced' ? 'paced (10 conns, 10 ms pause)' : 'closed loop (16 conns)',
        f0(a?.rps),
        f2(a?.p50),
        f2(a?.p99),
        f0(b?.rps),
        f2(b?.p50),
        f2(b?.p99),
        loop ? `${f0(loop.queries)} (${loop.errors} errors)` : '—',
        f2(ratio),
        '≤ 1.2×',
        verdict(ratio, 1.2) + (a?.bad || b?.bad ? ` (${(a?.bad ?? 0) + (b?.bad ?? 0)} bad responses)` : ''),
      ];
    }),
  ),
  '',
);

lines.push(
  '### Commands',
  '',
  "`$TMP` is a fresh temp dir; ports are picked free per run; `$KEY` is acme's seeded ADMIN key.",
  '',
  '```sh',
  read('commands.txt'),
  '```',
  '',
);
const md = `${lines.join('\n')}\n`;
process.stdout.write(md);
writeFileSync(resultsPath, md);
