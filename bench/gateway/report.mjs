// Turns a bench/gateway/run.sh output directory into a Markdown report: prints it and writes RESULTS.md.
import { execSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';

const [outDir, resultsPath] = process.argv.slice(2);
if (!outDir || !resultsPath) {
  process.stderr.write('usage: report.mjs <run output dir> <RESULTS.md>\n');
  process.exit(2);
}

const UNIT_MS = { us: 0.001, ms: 1, s: 1000, m: 60_000 };

/** Parses `wrk --latency` output; null when the scenario did not run. */
function parseWrk(name) {
  const file = join(outDir, `${name}.txt`);
  if (!existsSync(file)) return null;
  const text = readFileSync(file, 'utf8');
  const num = (re) => Number(re.exec(text)?.[1] ?? Number.NaN);
  const latency = (p) => {
    const m = new RegExp(`^\\s+${p}%\\s+([\\d.]+)(us|ms|s|m)\\s*$`, 'm').exec(text);
    return m ? Number(m[1]) * UNIT_MS[m[2]] : Number.NaN;
  };
  const cpu = readCpu(name);
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(text);
  return {
    rps: num(/Requests\/sec:\s+([\d.]+)/),
    requests: num(/(\d+) requests in/),
    p50: latency(50),
    p99: latency(99),
    non2xx: num(/Non-2xx or 3xx responses: (\d+)/) || 0,
    socketErrors: sock ? sock.slice(1).reduce((s, n) => s + Number(n), 0) : 0,
    ...perRequest(cpu, num(/(\d+) requests in/)),
  };
}

function readCpu(name) {
  const file = join(outDir, `${name}.cpu.json`);
  return existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : null;
}

/** CPU microseconds per request of the proxy (nginx or Hangar) and of the runner. */
function perRequest(cpu, requests) {
  if (!cpu || !requests) return { proxyUs: Number.NaN, runnerUs: Number.NaN };
  return { proxyUs: (cpu.proxy_cpu_ms * 1000) / requests, runnerUs: (cpu.runner_cpu_ms * 1000) / requests };
}

function parseQueue() {
  const file = join(outDir, 'd.json');
  if (!existsSync(file)) return null;
  const d = JSON.parse(readFileSync(file, 'utf8').trim().split('\n').pop());
  return {
    rps: d.requests_per_s,
    requests: d.completed,
    p50: d.p50_ms,
    p99: d.p99_ms,
    non2xx: d.errors,
    ...perRequest(readCpu('d'), d.completed_including_warmup),
    raw: d,
  };
}

const sh = (cmd) => {
  try {
    return execSync(cmd, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
  } catch (err) {
    return String(err.stderr ?? err.stdout ?? '').trim() || 'unknown';
  }
};
const read = (f) => (existsSync(join(outDir, f)) ? readFileSync(join(outDir, f), 'utf8').trim() : '');

const f0 = (n) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '—');
const f2 = (n) => (Number.isFinite(n) ? n.toFixed(2) : '—');

const rows = [
  ['(a) direct to the runner', parseWrk('a')],
  ['(b) Hangar `/run/<owner>/echo`', parseWrk('b')],
  ['(c) nginx `proxy_pass`', parseWrk('c')],
  ['(d) Hangar queue submit → status → result', parseQueue()],
  ['(e) bare Node proxy (node:http + undici, nothing recorded)', parseWrk('e')],
];
const [a, b, c, d, e] = rows.map((r) => r[1]);
const single = [
  ['(a) direct, 1 connection', parseWrk('a1')],
  ['(b) Hangar `/run`, 1 connection', parseWrk('b1')],
  ['(c) nginx, 1 connection', parseWrk('c1')],
];
const [a1, b1] = single.map((r) => r[1]);

const verdict = (ok) => (ok === null ? 'not run' : ok ? '**met**' : '**missed**');
const ratio = b && c ? b.rps / c.rps : null;
const added = a && b ? b.p50 - a.p50 : null;
const added1 = a1 && b1 ? b1.p50 - a1.p50 : null;
const checks = [
  ['(b) / (c) requests/s', ratio === null ? '—' : `${f2(ratio)}×`, '≥ 0.80×', verdict(ratio && ratio >= 0.8)],
  [
    '(b) − (a) median latency',
    added === null ? '—' : `${f2(added)} ms`,
    '≤ 1 ms',
    verdict(added === null ? null : added <= 1),
  ],
  ['(b) − (a) median latency, 1 connection (context)', added1 === null ? '—' : `${f2(added1)} ms`, '—', ''],
  ['(d) completed requests/s', d ? f0(d.rps) : '—', '≥ 2,000', verdict(d ? d.rps >= 2000 : null)],
  [
    '(e) / (c): the most a Node proxy reaches here (context)',
    e && c ? `${f2(e.rps / c.rps)}×` : '—',
    '—',
    '',
  ],
  ['(b) / (e): Hangar as a share of that floor (context)', b && e ? `${f2(b.rps / e.rps)}×` : '—', '—', ''],
];

/** A Markdown table padded the way the repository's formatter lays tables out. */
function table(head, body) {
  const all = [head, ...body];
  const width = head.map((_, i) => Math.max(3, ...all.map((r) => [...r[i]].length)));
  const line = (cells) => `| ${cells.map((c, i) => c + ' '.repeat(width[i] - [...c].length)).join(' | ')} |`;
  return [line(head), line(width.map((w) => '-'.repeat(w))), ...body.map(line)].join('\n');
}

const model = sh("lscpu | sed -n 's/^Model name:[[:space:]]*//p' | head -1") || cpus()[0]?.model || 'unknown';
const wrkVersion = sh('wrk -v 2>&1 | head -1').split(' Copyright')[0];
const md = `## Gateway benchmark (\`npm run bench:gateway\`)

Run ${new Date().toISOString().replace(/\.\d+Z$/, 'Z')} at commit ${sh('git rev-parse --short HEAD')}${sh('git status --porcelain packages') ? ' (with uncommitted changes)' : ''} on ${sh('nproc')} CPUs (${model}), Node ${process.version}, ${sh('nginx -v 2>&1')}, ${wrkVersion}.
Load average before: \`${read('load-before.txt')}\`; after: \`${read('load-after.txt')}\`.
Every scenario calls the \`examples/echo-node\` runner with a small JSON POST and an \`Authorization\` header;
(b) and (d) go to the single runner Hangar started for the app (min = max concurrency 1) and record every request.
CPU µs/req is user + system CPU time of the proxy process (nginx master + worker, or the Hangar server) and of
the runner during the measured run, divided by the requests: it does not depend on what else the machine runs.

${table(
  [
    'scenario',
    'requests/s',
    'p50 ms',
    'p99 ms',
    'requests',
    'errors / non-2xx',
    'proxy CPU µs/req',
    'runner CPU µs/req',
  ],
  [...rows, ...single].map(([name, r]) =>
    r
      ? [
          name,
          f0(r.rps),
          f2(r.p50),
          f2(r.p99),
          f0(r.requests),
          String(r.non2xx + (r.socketErrors ?? 0)),
          f0(r.proxyUs),
          f0(r.runnerUs),
        ]
      : [name, 'not run', '', '', '', '', '', ''],
  ),
)}

${table(['target', 'measured', 'target value', 'result'], checks)}
${d ? `\n(d): ${d.raw.concurrency} concurrent loops, ${f2(d.raw.status_polls_per_request)} status polls per request${d.raw.first_error ? `, first error: \`${d.raw.first_error}\`` : ''}.\n` : ''}
Commands (\`$TMP\` is a fresh temp dir; ports are picked free per run):

\`\`\`sh
${read('commands.txt')}
\`\`\`
`;

process.stdout.write(`${md}\n`);
writeFileSync(resultsPath, md);
