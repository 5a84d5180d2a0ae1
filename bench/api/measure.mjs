#!/usr/bin/env node
// Latency driver of the API benchmark (undici). Modes:
//   ops  --url U --seed bench-seed.json --n N [--only a,b] --out F.json   each operation: warm-up, N sequential, N concurrent
//   loop --url U --seed bench-seed.json --seconds S --concurrency C --out F.json   the query mix in a loop
// Latencies are client-side wall time from sending the request to the last body byte, in ms.
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { Pool } from 'undici';
import { apiOperations } from './operations.mjs';

const { values: opt, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    url: { type: 'string' },
    seed: { type: 'string' },
    n: { type: 'string', default: '300' },
    concurrency: { type: 'string', default: '4' },
    seconds: { type: 'string', default: '20' },
    out: { type: 'string' },
    only: { type: 'string' },
  },
});
const mode = positionals[0];
const meta = JSON.parse(readFileSync(opt.seed, 'utf8'));
const pool = new Pool(opt.url, { connections: 16, pipelining: 1 });

/** Sends one request; resolves to its latency in ms, throwing on a non-2xx answer. */
async function call(op) {
  const t0 = process.hrtime.bigint();
  const res = await pool.request(op.request());
  const body = await res.body.text();
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (res.statusCode < 200 || res.statusCode >= 300) {
    throw new Error(`${op.name}: HTTP ${res.statusCode} ${body.slice(0, 300)}`);
  }
  op.check?.(body);
  return ms;
}

/** Nearest-rank percentile of sorted samples. */
export function percentile(sorted, p) {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

function summarise(samples, errors) {
  const s = [...samples].sort((a, b) => a - b);
  const round = (x) => (x === null ? null : Math.round(x * 100) / 100);
  return {
    n: s.length,
    errors: errors.length,
    first_error: errors[0] ?? null,
    p50: round(percentile(s, 50)),
    p95: round(percentile(s, 95)),
    p99: round(percentile(s, 99)),
    max: round(s.at(-1) ?? null),
  };
}

async function sample(op, count, concurrency) {
  const samples = [];
  const errors = [];
  let left = count;
  const worker = async () => {
    while (left-- > 0) {
      try {
        samples.push(await call(op));
      } catch (err) {
        errors.push(err.message);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return summarise(samples, errors);
}

async function runOps() {
  const n = Number(opt.n);
  const conc = Number(opt.concurrency);
  const only = opt.only?.split(',');
  const ops = (await apiOperations(meta, pool)).filter((op) => !only || only.includes(op.name));
  const results = [];
  for (const op of ops) {
    op.firstMs = (await sample(op, 1, 1)).p50;
    const warm = await sample(op, Math.min(30, n), 1);
    if (warm.errors > 0 && warm.n === 0) {
      console.error(`${op.name}: every warm-up request failed: ${warm.first_error}`);
    }
    const seq = await sample(op, n, 1);
    const con = await sample(op, n, conc);
    results.push({
      name: op.name,
      label: op.label,
      target_p95_ms: op.target ?? null,
      first_ms: op.firstMs ?? null,
      sequential: seq,
      concurrent: con,
      concurrency: conc,
    });
    console.error(
      `${op.name.padEnd(22)} seq p50 ${seq.p50} p95 ${seq.p95} p99 ${seq.p99} | c${conc} p50 ${con.p50} p95 ${con.p95} p99 ${con.p99}` +
        (seq.errors + con.errors > 0
          ? ` | ${seq.errors + con.errors} errors: ${seq.first_error ?? con.first_error}`
          : ''),
    );
  }
  return { ops: results };
}

async function runLoop() {
  const ops = (await apiOperations(meta, pool)).filter((op) => op.heavy);
  const until = Date.now() + Number(opt.seconds) * 1000;
  let count = 0;
  const errors = [];
  const worker = async (offset) => {
    for (let i = offset; Date.now() < until; i++) {
      try {
        await call(ops[i % ops.length]);
        count++;
      } catch (err) {
        errors.push(err.message);
      }
    }
  };
  await Promise.all(Array.from({ length: Number(opt.concurrency) }, (_, i) => worker(i)));
  return {
    queries: count,
    seconds: Number(opt.seconds),
    errors: errors.length,
    first_error: errors[0] ?? null,
    operations: ops.map((o) => o.name),
  };
}

const result = mode === 'loop' ? await runLoop() : await runOps();
await pool.close();
if (opt.out) writeFileSync(opt.out, `${JSON.stringify(result, null, 2)}\n`);
else console.log(JSON.stringify(result, null, 2));
