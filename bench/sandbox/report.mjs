// Turns bench/sandbox/run.sh's outputs into RESULTS.md: cold start added by the sandbox, and /run
// throughput through the sandboxed network path as a ratio of the plain-process path, same run.
import { readdirSync, readFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';

const dir = process.argv[2];
const cold = JSON.parse(readFileSync(join(dir, 'cold-start.json'), 'utf8'));
const rps = (iso) =>
  readdirSync(dir)
    .filter((f) => f.startsWith(`wrk-${iso}-`))
    .map((f) => {
      const text = readFileSync(join(dir, f), 'utf8');
      const r = Number(/Requests\/sec:\s+([\d.]+)/.exec(text)?.[1] ?? 0);
      const p99 = /99%\s+([\d.]+\w+)/.exec(text)?.[1] ?? '?';
      const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(text)?.[1] ?? 0);
      return { r, p99, non2xx };
    });
const trusted = rps('trusted');
const sandbox = rps('sandbox');
const mean = (xs) => xs.reduce((a, b) => a + b.r, 0) / Math.max(1, xs.length);
const ratio = mean(sandbox) / mean(trusted);
const commands = readFileSync(join(dir, 'commands.txt'), 'utf8').trim();
const pass = (ok) => (ok ? 'pass' : '**miss**');

console.log(`# Runner sandbox benchmark

Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'CPU'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}.
Measured ${new Date().toISOString().slice(0, 10)} by \`npm run bench:sandbox\`; both sides of each comparison in the same run.

## Cold start (examples/echo-node, start → first 200 on /health, ${cold.samples} samples each)

| driver | median | p90 | driver start() median |
| --- | ---: | ---: | ---: |
| plain process | ${cold.plain.median_ms} ms | ${cold.plain.p90_ms} ms | ${cold.plain.driver_start_median_ms} ms |
| sandbox (bubblewrap + pasta) | ${cold.sandbox.median_ms} ms | ${cold.sandbox.p90_ms} ms | ${cold.sandbox.driver_start_median_ms} ms |

Added by the sandbox: **${cold.added_median_ms} ms** at the median, ${cold.added_p90_ms} ms at p90
(target ≤ 50 ms: ${pass(cold.added_median_ms <= 50)}).

## /run throughput through the gateway (wrk, POST /run/demo/echo)

| isolation | rounds (req/s) | p99 | non-2xx |
| --- | --- | --- | ---: |
| trusted (plain child process, loopback TCP) | ${trusted.map((t) => t.r.toFixed(0)).join(', ')} | ${trusted.map((t) => t.p99).join(', ')} | ${trusted.reduce((a, t) => a + t.non2xx, 0)} |
| sandbox (pasta port forward into the runner's namespace) | ${sandbox.map((t) => t.r.toFixed(0)).join(', ')} | ${sandbox.map((t) => t.p99).join(', ')} | ${sandbox.reduce((a, t) => a + t.non2xx, 0)} |

Sandbox ÷ trusted: **${ratio.toFixed(2)}×** (target ≥ 0.9×: ${pass(ratio >= 0.9)}).

## Commands

\`\`\`sh
${commands}
\`\`\`
`);
