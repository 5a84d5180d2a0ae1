// Queue benchmark driver: N concurrent loops of submit → poll status until COMPLETED → fetch result.
// Prints one JSON object: completed requests/s and end-to-end latency percentiles (submit to result body).
import { parseArgs } from 'node:util';
import { Agent, request } from 'undici';

const { values: opt } = parseArgs({
  options: {
    url: { type: 'string' },
    path: { type: 'string' },
    key: { type: 'string', default: process.env.BENCH_KEY ?? '' },
    concurrency: { type: 'string', default: '64' },
    duration: { type: 'string', default: '15' },
    warmup: { type: 'string', default: '3' },
    'poll-ms': { type: 'string', default: '10' },
  },
});
if (!opt.url || !opt.path) {
  process.stderr.write(
    'usage: queue-e2e.mjs --url http://127.0.0.1:P --path /queue/<owner>/<app> [--key K]\n',
  );
  process.exit(2);
}

const concurrency = Number(opt.concurrency);
const pollMs = Number(opt['poll-ms']);
const dispatcher = new Agent({ connections: concurrency, keepAliveTimeout: 60_000 });
const headers = { 'content-type': 'application/json' };
if (opt.key) headers.authorization = `Key ${opt.key}`;
const body = JSON.stringify({ prompt: 'hello', n: 1 });

const now = () => performance.now();
const measureFrom = now() + Number(opt.warmup) * 1000;
const stopAt = measureFrom + Number(opt.duration) * 1000;
const latencies = [];
let errors = 0;
let measuredPolls = 0;
let completedTotal = 0;
let firstError = null;

async function call(method, url, payload) {
  const res = await request(url, { method, headers, body: payload, dispatcher });
  const text = await res.body.text();
  return { status: res.statusCode, text };
}

async function oneRequest() {
  const submit = await call('POST', `${opt.url}${opt.path}`, body);
  if (submit.status !== 200) throw new Error(`submit ${submit.status}: ${submit.text.slice(0, 200)}`);
  const { status_url: statusUrl, response_url: responseUrl } = JSON.parse(submit.text);
  let polls = 0;
  for (;;) {
    polls++;
    const st = await call('GET', statusUrl);
    if (st.status === 200 && JSON.parse(st.text).status === 'COMPLETED') break;
    if (st.status !== 202 && st.status !== 200)
      throw new Error(`status ${st.status}: ${st.text.slice(0, 200)}`);
    if (pollMs > 0) await new Promise((r) => setTimeout(r, pollMs));
  }
  const result = await call('GET', responseUrl);
  if (result.status !== 200) throw new Error(`result ${result.status}: ${result.text.slice(0, 200)}`);
  return polls;
}

async function loop() {
  while (now() < stopAt) {
    const start = now();
    try {
      const polls = await oneRequest();
      const end = now();
      completedTotal++;
      if (start >= measureFrom && end <= stopAt) {
        latencies.push(end - start);
        measuredPolls += polls;
      }
    } catch (err) {
      errors++;
      firstError ??= String(err?.message ?? err);
      if (errors > 1000) throw err;
    }
  }
}

const pct = (sorted, p) =>
  sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] : 0;

await Promise.all(Array.from({ length: concurrency }, loop));
await dispatcher.close();
latencies.sort((a, b) => a - b);
const seconds = Number(opt.duration);
const out = {
  concurrency,
  duration_s: seconds,
  completed: latencies.length,
  completed_including_warmup: completedTotal,
  requests_per_s: latencies.length / seconds,
  p50_ms: pct(latencies, 0.5),
  p99_ms: pct(latencies, 0.99),
  status_polls_per_request: latencies.length ? measuredPolls / latencies.length : 0,
  errors,
  first_error: firstError,
};
process.stdout.write(`${JSON.stringify(out)}\n`);
