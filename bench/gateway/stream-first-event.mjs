// Streaming pass-through latency (npm run bench:stream): the same examples/stream-node app reached
// through Hangar's /run and directly, alternating, in one run. Each event carries `at`, the epoch time
// (sub-ms, performance.timeOrigin + now()) the runner wrote it; the client notes when it read it on the
// same clock. Prints JSON.
//   first event: one stream at a time, `samples` times per side; latency = read − written of event 1.
//   load: `streams` concurrent streams of `rate` events/s for `seconds`; latency of every event.
import { parseArgs } from 'node:util';
import { Agent, request } from 'undici';

const { values: o } = parseArgs({
  options: {
    hangar: { type: 'string' },
    direct: { type: 'string' },
    key: { type: 'string', default: process.env.BENCH_KEY ?? '' },
    samples: { type: 'string', default: '200' },
    streams: { type: 'string', default: '100' },
    rate: { type: 'string', default: '50' },
    seconds: { type: 'string', default: '10' },
  },
});
const now = () => performance.timeOrigin + performance.now();
const agent = new Agent({ connections: 256, pipelining: 1 });

/** Opens one stream and calls `onEvent(latencyMs, i)` per event; resolves at its end. */
async function stream(url, auth, input, onEvent) {
  const res = await request(url, {
    method: 'POST',
    dispatcher: agent,
    headers: { 'content-type': 'application/json', accept: 'text/event-stream', ...auth },
    body: JSON.stringify(input),
  });
  if (res.statusCode !== 200) throw new Error(`${url} answered ${res.statusCode}: ${await res.body.text()}`);
  let buffered = '';
  res.body.setEncoding('utf8');
  for await (const text of res.body) {
    const readAt = now();
    buffered += text;
    let end = buffered.indexOf('\n\n');
    while (end !== -1) {
      const event = JSON.parse(buffered.slice(6, end));
      onEvent(readAt - event.at, event.i);
      buffered = buffered.slice(end + 2);
      end = buffered.indexOf('\n\n');
    }
  }
}

function summary(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p) => s[Math.min(s.length - 1, Math.floor(p * s.length))];
  const r = (x) => Math.round(x * 1000) / 1000;
  return { n: s.length, p50: r(q(0.5)), p90: r(q(0.9)), p99: r(q(0.99)), max: r(s.at(-1)) };
}

const sides = {
  direct: { url: `${o.direct}/stream`, auth: {} },
  hangar: { url: `${o.hangar}/stream`, auth: { authorization: `Key ${o.key}` } },
};

async function firstEvent() {
  const lat = { direct: [], hangar: [] };
  const input = { events: 2, interval_ms: 0 };
  for (let i = 0; i < 20; i++)
    for (const s of Object.values(sides)) await stream(s.url, s.auth, input, () => {});
  for (let i = 0; i < Number(o.samples); i++) {
    for (const [name, s] of Object.entries(sides)) {
      await stream(s.url, s.auth, input, (ms, n) => n === 1 && lat[name].push(ms));
    }
  }
  return { direct: summary(lat.direct), hangar: summary(lat.hangar) };
}

async function load(name) {
  const s = sides[name];
  const rate = Number(o.rate);
  const events = rate * Number(o.seconds);
  const input = { events, interval_ms: 1000 / rate };
  const lat = [];
  const t0 = now();
  await Promise.all(
    Array.from({ length: Number(o.streams) }, async (_, k) => {
      // Spread the starts over one interval so the runner does not write every stream at once.
      await new Promise((r) => setTimeout(r, (k * 1000) / rate / Number(o.streams)));
      await stream(s.url, s.auth, input, (ms) => lat.push(ms));
    }),
  );
  return { ...summary(lat), seconds: Math.round(now() - t0) / 1000 };
}

const first = await firstEvent();
const loaded = { direct: await load('direct'), hangar: await load('hangar') };
const d = (a, b) => Math.round((a - b) * 1000) / 1000;
console.log(
  JSON.stringify(
    {
      first_event_ms: first,
      first_event_added_ms: {
        p50: d(first.hangar.p50, first.direct.p50),
        p99: d(first.hangar.p99, first.direct.p99),
      },
      load: { streams: Number(o.streams), events_per_s: Number(o.rate), ...loaded },
      load_added_ms: {
        p50: d(loaded.hangar.p50, loaded.direct.p50),
        p99: d(loaded.hangar.p99, loaded.direct.p99),
      },
    },
    null,
    2,
  ),
);
await agent.close();
