// Minute-by-minute simulation behind seed.mjs: traffic with a daily cycle, per-app runner pools that
// scale with load (cold starts when a pool grows from zero, surge slots past the reserved count), and the
// rows that the live server would have written for it. Rows go to `sink` callbacks in time order.
import { join } from 'node:path';
import {
  createRandom,
  inputJson,
  OWNERS,
  outputJson,
  RESERVED,
  requestLogLine,
  runnerLogLine,
} from './seed-catalog.mjs';

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;
const COLD_MEDIAN = { CPU: 900, 'GPU-A100': 12_000, 'GPU-H100': 15_000, 'GPU-B200': 20_000 };

/** Floor-allocates `total` items over minutes in proportion to `prefix` (prefix sums of weights). */
function allocate(prefix, m, total) {
  const all = prefix[prefix.length - 1];
  return Math.floor((prefix[m + 1] / all) * total) - Math.floor((prefix[m] / all) * total);
}

function minuteWeights(p, r, totalMinutes) {
  const prefix = new Float64Array(totalMinutes + 1);
  for (let m = 0; m < totalMinutes; m++) {
    const t = new Date(p.start + m * MINUTE);
    const h = t.getUTCHours() + t.getUTCMinutes() / 60;
    const diurnal = 0.35 + 0.65 * (0.5 - 0.5 * Math.cos((2 * Math.PI * (h - 3)) / 24));
    const weekday = t.getUTCDay() === 0 || t.getUTCDay() === 6 ? 0.7 : 1;
    prefix[m + 1] = prefix[m] + diurnal * weekday * (0.85 + 0.3 * r.next());
  }
  return prefix;
}

function buildApps(p, r, keys) {
  const apps = [];
  for (const [owner, list] of Object.entries(OWNERS)) for (const spec of list) apps.push({ owner, ...spec });
  // Zipf-like popularity over a seeded order: a few hot apps, a long tail.
  const order = apps.map((_, i) => i).sort(() => r.next() - 0.5);
  let sum = 0;
  order.forEach((idx, rank) => {
    apps[idx].weight = 1 / (rank + 1) ** 1.1;
    sum += apps[idx].weight;
  });
  const revisionRows = [];
  const appRows = [];
  for (const a of apps) {
    a.weight /= sum;
    a.mult = a.machine === 'CPU' ? 16 : 1;
    a.maxConc = a.machine === 'CPU' ? 4 : 8;
    a.timeoutMs = a.kind === 'video' ? 600_000 : a.app === 'music-gen' ? 300_000 : 60_000;
    a.endpoints = a.routes.map((route) =>
      route === '/' ? `${a.owner}/${a.app}` : `${a.owner}/${a.app}${route}`,
    );
    a.keys = keys.byOwner[a.owner];
    a.slots = [];
    a.busy = 0;
    a.cold = 0;
    a.lastRunner = r.uuid();
    a.revs = buildRevisions(p, r, a, revisionRows);
    a.revIdx = -1;
    const current = a.revs.filter((v) => v.status === 'deployed').at(-1);
    appRows.push([a.owner, a.app, current.id, a.revs[0].at, current.at]);
  }
  return { apps, revisionRows, appRows };
}

function buildRevisions(p, r, a, rows) {
  const n = r.int(2, 6);
  const times = [p.start - r.int(1, 60) * DAY];
  for (let i = 1; i < n; i++) times.push(p.start + Math.floor(r.next() * (p.end - p.start - DAY)));
  times.sort((x, y) => x - y);
  return times.map((at, i) => {
    const id = r.uuid();
    const status = i > 0 && i < n - 1 && r.next() < 0.1 ? 'failed' : 'deployed';
    const manifest = {
      name: a.app,
      command: a.machine === 'CPU' ? ['node', 'server.mjs'] : ['python', 'app.py'],
      machine_type: a.machine,
      environment: 'main',
      auth_mode: 'private',
      keep_alive: 300,
      // Seeded apps never start runners in the benchmarked server: their directories do not exist.
      min_concurrency: 0,
      max_concurrency: a.maxConc,
      max_multiplexing: a.mult,
      request_timeout: a.timeoutMs / 1000,
      startup_timeout: 300,
      health_path: '/health',
      routes: a.routes,
      env: {},
    };
    const dir = join(p.home, 'apps', a.owner, a.app, id);
    const message =
      i === 0
        ? 'initial deploy'
        : r.pick(['bump model weights', 'fix OOM on large inputs', 'tune batch size']);
    rows.push([id, a.owner, a.app, at, message, null, status, a.owner, JSON.stringify(manifest), dir]);
    return { id, at, status };
  });
}

/** The simulation; call `minute(m)` for m = 0, 1, … in order, inside the caller's transactions. */
export function createWorld(p, sink, keys) {
  const r = createRandom(p.seed * 7919 + 1);
  const totalMinutes = Math.round((p.end - p.start) / MINUTE);
  const prefix = minuteWeights(p, r, totalMinutes);
  const { apps, revisionRows, appRows } = buildApps(p, r, keys);
  const cumulative = [];
  let acc = 0;
  for (const a of apps) {
    acc += a.weight;
    cumulative.push(acc);
  }
  // Two two-hour bursts on the hottest GPU app push its pool past the reserved runners (surge billing).
  const burstApp = apps.filter((a) => a.machine !== 'CPU').sort((x, y) => y.weight - x.weight)[0];
  const bursts = [Math.floor(totalMinutes * 0.4), Math.floor(totalMinutes * 0.85)];
  const inBurst = (m) => bursts.some((b) => m >= b && m < b + 120);
  const buckets = new Map();
  let logId = 0;

  const event = (a, category, at, payload) =>
    sink.event([r.uuid(), a.owner, a.app, category, at, JSON.stringify(payload)]);

  function pickApp(m) {
    if (inBurst(m) && r.next() < 0.6) return burstApp;
    const x = r.next();
    for (let i = 0; i < apps.length; i++) if (x < cumulative[i]) return apps[i];
    return apps[apps.length - 1];
  }

  function advanceRevisions(a, until) {
    while (a.revIdx + 1 < a.revs.length && a.revs[a.revIdx + 1].at < until) {
      const rev = a.revs[++a.revIdx];
      const prev = a.revs
        .slice(0, a.revIdx)
        .filter((v) => v.status === 'deployed')
        .at(-1);
      const ids = {
        new_application_id: rev.id,
        old_application_id: prev?.id ?? null,
        actor: { nickname: a.owner },
      };
      event(a, 'deployment_started', rev.at, ids);
      const done = rev.at + r.int(20_000, 90_000);
      if (rev.status === 'failed') {
        event(a, 'deployment_failed', done, { ...ids, reason: 'runner failed its health check' });
        continue;
      }
      event(a, 'deployment_ended', done, ids);
      a.rev = rev.id;
      // A new revision replaces every runner.
      const n = a.slots.length;
      for (let i = 0; i < n; i++) stopSlot(a, done);
      for (let i = 0; i < n; i++) startSlot(a, done);
    }
  }

  function startSlot(a, at) {
    const id = r.uuid();
    a.slots.push(id);
    a.lastRunner = id;
    a.cold++;
    event(a, 'runner_started', at, { job_id: id, machine_type: a.machine, state: 'running' });
  }

  function stopSlot(a, at) {
    const id = a.slots.pop();
    if (r.next() < 0.005) {
      event(a, 'runner_failed', at, {
        job_id: id,
        machine_type: a.machine,
        state: 'terminated',
        reason: 'exited with code 137',
      });
    } else {
      event(a, 'runner_finished', at, {
        job_id: id,
        machine_type: a.machine,
        state: 'terminated',
        reason: 'idle past keep_alive',
      });
    }
  }

  function makeRequest(a, t0) {
    const sent = t0 + Math.floor(r.next() * MINUTE);
    const endpoint = a.endpoints.length > 1 && r.next() < 0.3 ? a.endpoints[1] : a.endpoints[0];
    const mode = r.next() < 0.7 ? 'queue' : 'sync';
    const q = {
      a,
      endpoint,
      mode,
      sent,
      cancelled: 0,
      cold: 0,
      coldBoot: null,
      attempts: 1,
      errorClass: null,
    };
    q.prepare = Math.round(mode === 'queue' ? r.lognormal(20, 1.3) : r.lognormal(2, 0.8));
    const roll = r.next();
    const fail5xx = a.kind === 'video' ? 0.04 : 0.015;
    if (roll < 0.003) {
      q.status = 499;
      q.cancelled = 1;
      q.duration = r.next() < 0.5 ? null : Math.round(r.lognormal(a.median / 2, a.sigma));
    } else if (roll < 0.003 + 0.04) {
      q.status = r.pick([422, 422, 422, 400, 400, 404, 429]);
      q.duration = Math.round(r.lognormal(15, 0.8));
    } else if (roll < 0.043 + fail5xx) {
      const x = r.next();
      if (x < 0.6)
        [q.status, q.errorClass, q.duration] = [
          500,
          'runtime',
          Math.round(r.lognormal(a.median * 0.6, a.sigma)),
        ];
      else if (x < 0.75) [q.status, q.errorClass, q.duration] = [504, 'timeout', a.timeoutMs];
      else if (x < 0.9) [q.status, q.errorClass, q.duration, q.attempts] = [503, 'startup', null, 2];
      else
        [q.status, q.errorClass, q.duration, q.attempts] = [
          502,
          'connection',
          Math.round(r.lognormal(50, 1)),
          2,
        ];
    } else {
      q.status = 200;
      q.duration = Math.min(a.timeoutMs - 1, Math.round(r.lognormal(a.median, a.sigma)));
    }
    a.busy += q.duration ?? 0;
    return q;
  }

  function scale(a, m) {
    const needed = Math.ceil(a.busy / (MINUTE * 0.6) / a.mult);
    const floor = inBurst(m) && a === burstApp ? 6 : 0;
    const prev = a.slots.length;
    if (a.count > 0 && needed >= prev) a.lastFull = m;
    // Idle runners stay up for keep_alive (300 s), then the pool shrinks by one per minute.
    let n = Math.max(needed, floor, m - (a.lastFull ?? -99) < 5 ? prev : prev - 1);
    if (a.count > 0 && n === 0) n = 1;
    n = Math.min(n, a.maxConc);
    const at = p.start + m * MINUTE;
    while (a.slots.length < n) startSlot(a, at);
    while (a.slots.length > n) stopSlot(a, at);
  }

  function finishRequest(q) {
    const a = q.a;
    q.runner = a.slots[Math.floor(r.next() * a.slots.length)];
    if (a.cold > 0 && q.duration !== null) {
      a.cold--;
      q.cold = 1;
      q.coldBoot = Math.round(r.lognormal(COLD_MEDIAN[a.machine], 0.4));
      q.prepare += q.coldBoot;
    }
    const started = q.duration === null ? null : q.sent + q.prepare;
    let ended =
      started === null ? q.sent + q.prepare + Math.round(r.lognormal(4000, 0.5)) : started + q.duration;
    const over = ended - (p.end - 1);
    if (over > 0) {
      q.sent -= over;
      ended -= over;
    }
    q.started = started === null ? null : started - Math.max(0, over);
    q.ended = ended;
    q.id = r.uuid();
    const units =
      q.duration === null ? 0 : a.kind === 'image' ? (q.status === 200 ? 1.05 : 0) : q.duration / 1000;
    const caller = r.next() < 0.85 ? a.keys.api_key_id : a.keys.admin_key_id;
    sink.request([
      q.id,
      a.owner,
      a.app,
      q.endpoint,
      caller,
      q.mode,
      q.cancelled,
      q.sent,
      q.started,
      q.ended,
      q.status,
      q.started === null ? null : q.prepare,
      q.duration,
      q.runner,
      q.cold,
      q.coldBoot,
      units,
      q.errorClass,
      q.attempts,
      inputJson(a.kind, r),
      outputJson(a.kind, q.status, r),
    ]);
  }

  function pushLine(ts, line) {
    const b = Math.floor((ts - p.start) / MINUTE);
    let list = buckets.get(b);
    if (!list) {
      list = [];
      buckets.set(b, list);
    }
    list.push(line);
  }

  function makeLogs(reqs, t0, n, active) {
    for (let i = 0; i < n; i++) {
      if (reqs.length > 0 && r.next() < 0.85) {
        const q = reqs[Math.floor(r.next() * reqs.length)];
        const from = q.started ?? q.sent;
        const ts = from + Math.floor(r.next() * (q.ended - from + 1));
        q.step = (q.step ?? -1) + 1;
        const [level, source, message, tb] = requestLogLine(q.a.kind, q.status, q.id, q.step, r);
        pushLine(ts, [ts, q.a, q.a.rev, level, message, q.id, q.runner, q.endpoint, source, tb]);
      } else {
        const a =
          active.length > 0
            ? active[Math.floor(r.next() * active.length)]
            : apps[Math.floor(r.next() * apps.length)];
        const ts = t0 + Math.floor(r.next() * MINUTE);
        const [level, source, message] = runnerLogLine(a.machine, r);
        const job = a.slots.length > 0 ? a.slots[Math.floor(r.next() * a.slots.length)] : a.lastRunner;
        pushLine(ts, [ts, a, a.rev, level, message, null, job, null, source, false]);
      }
    }
  }

  function flushBucket(b) {
    const list = buckets.get(b);
    if (!list) return;
    buckets.delete(b);
    list.sort((x, y) => x[0] - y[0]);
    for (const [ts, a, rev, level, message, rid, job, endpoint, source, tb] of list) {
      let labels = `{"fal_job_id":"${job}","source":"${source}"`;
      if (rid !== null) labels += `,"fal_request_id":"${rid}","fal_endpoint":"${endpoint}"`;
      if (tb) labels += ',"traceback":"true"';
      labels += '}';
      sink.log([++logId, ts, a.owner, a.app, rev, level, message, rid, job, endpoint, source, labels]);
    }
  }

  function meterAndSamples(t0) {
    for (const a of apps) {
      const n = a.slots.length;
      for (let s = 0; s < n; s++) {
        sink.meter([a.slots[s], t0, a.owner, a.app, a.machine, s >= RESERVED[a.machine] ? 1 : 0, 60]);
      }
      const util = n === 0 ? 0 : Math.min(1, a.busy / (MINUTE * n * a.mult));
      for (let ts = t0, k = 0; ts < t0 + MINUTE; ts += p.sampleIntervalMs, k++) {
        const running = Math.max(0, Math.min(n, Math.round(util * n + (r.next() - 0.5))));
        sink.sample([ts, a.owner, a.app, 0, k === 0 && a.coldSeen ? 1 : 0, n - running, running]);
      }
    }
  }

  function minute(m, last) {
    const t0 = p.start + m * MINUTE;
    for (const a of apps) {
      a.busy = 0;
      a.count = 0;
      a.cold = 0;
      advanceRevisions(a, t0 + MINUTE);
    }
    const reqs = [];
    const n = allocate(prefix, m, p.requests);
    for (let i = 0; i < n; i++) {
      const a = pickApp(m);
      a.count++;
      reqs.push(makeRequest(a, t0));
    }
    for (const a of apps) scale(a, m);
    for (const a of apps) a.coldSeen = a.cold > 0;
    reqs.sort((x, y) => x.sent - y.sent);
    for (const q of reqs) finishRequest(q);
    makeLogs(
      reqs,
      t0,
      allocate(prefix, m, p.logs),
      apps.filter((a) => a.slots.length > 0),
    );
    flushBucket(m);
    meterAndSamples(t0);
    if (last) for (const b of [...buckets.keys()].sort((x, y) => x - y)) flushBucket(b);
  }

  const endpoints = apps.flatMap((a) =>
    a.endpoints.map((id) => ({ endpoint_id: id, owner: a.owner, app: a.app, weight: a.weight })),
  );
  return { minute, revisionRows, appRows, endpoints };
}
