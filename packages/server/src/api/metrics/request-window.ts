import { type Clock, type RequestRecord, systemClock } from '@hangar/core';
import { LATENCY_BUCKETS_S } from '../../telemetry/prometheus.js';

// Last-minute request counts for the Prometheus gauges: a ring of 60 one-second slots per process, fed
// by the gateway as requests arrive and complete. Reading sums at most 60 small maps, so a scrape never
// touches the database.

const SLOTS = 60;
const SEP = '\u0000';

interface OwnerSlot {
  /** `app␀method` → count. */
  received: Map<string, number>;
  /** `app␀method␀status` → count. */
  completed: Map<string, number>;
  /** app → per-bucket counts (not cumulative), the last entry being above the largest bound. */
  latency: Map<string, number[]>;
}

interface Slot {
  second: number;
  owners: Map<string, OwnerSlot>;
}

/** Last-minute totals of one owner, keyed by app name. */
export interface WindowSnapshot {
  received: Map<string, Map<string, number>>;
  /** app → `method␀status` → count. */
  completed: Map<string, Map<string, number>>;
  latency: Map<string, number[]>;
}

/** Counts requests over the last minute for the metrics endpoint. */
export interface RequestWindow {
  /** Counts a request as received now. */
  received(r: { owner: string; app: string; method: string }): void;
  /** Counts a request as completed now, with its latency (accepted → answered) in ms. */
  completed(r: { owner: string; app: string; method: string; statusCode: number; latencyMs: number }): void;
  /** Feeds a request record: received unless COMPLETED; completed ones need a status code. */
  observe(rec: RequestRecord): void;
  /** The owner's totals over the 60 seconds up to now. */
  snapshot(owner: string): WindowSnapshot;
}

/** Creates the last-minute window. */
export function createRequestWindow(clock: Clock = systemClock): RequestWindow {
  const ring: Slot[] = Array.from({ length: SLOTS }, () => ({ second: -1, owners: new Map() }));

  const slotFor = (owner: string): OwnerSlot => {
    const second = Math.floor(clock() / 1000);
    const slot = ring[second % SLOTS]!;
    if (slot.second !== second) {
      slot.second = second;
      slot.owners.clear();
    }
    let o = slot.owners.get(owner);
    if (!o) {
      o = { received: new Map(), completed: new Map(), latency: new Map() };
      slot.owners.set(owner, o);
    }
    return o;
  };
  const bump = (m: Map<string, number>, key: string) => m.set(key, (m.get(key) ?? 0) + 1);

  const window: RequestWindow = {
    received(r) {
      bump(slotFor(r.owner).received, `${r.app}${SEP}${r.method}`);
    },
    completed(r) {
      const o = slotFor(r.owner);
      bump(o.completed, `${r.app}${SEP}${r.method}${SEP}${r.statusCode}`);
      let counts = o.latency.get(r.app);
      if (!counts) {
        counts = new Array<number>(LATENCY_BUCKETS_S.length + 1).fill(0);
        o.latency.set(r.app, counts);
      }
      const s = r.latencyMs / 1000;
      const i = LATENCY_BUCKETS_S.findIndex((b) => s <= b);
      counts[i < 0 ? LATENCY_BUCKETS_S.length : i]! += 1;
    },
    observe(rec) {
      const who = { owner: rec.owner, app: rec.app, method: rec.method };
      if (rec.status !== 'COMPLETED') return window.received(who);
      if (rec.statusCode === null) return;
      const latencyMs = Math.max(0, (rec.endedAt ?? clock()) - rec.sentAt);
      window.completed({ ...who, statusCode: rec.statusCode, latencyMs });
    },
    snapshot(owner) {
      const now = Math.floor(clock() / 1000);
      const snap: WindowSnapshot = { received: new Map(), completed: new Map(), latency: new Map() };
      for (const slot of ring) {
        if (slot.second <= now - SLOTS || slot.second > now) continue;
        const o = slot.owners.get(owner);
        if (o) merge(snap, o);
      }
      return snap;
    },
  };
  return window;
}

function merge(snap: WindowSnapshot, o: OwnerSlot): void {
  const add = (target: Map<string, Map<string, number>>, key: string, n: number) => {
    const cut = key.indexOf(SEP);
    const app = key.slice(0, cut);
    let m = target.get(app);
    if (!m) {
      m = new Map();
      target.set(app, m);
    }
    const rest = key.slice(cut + 1);
    m.set(rest, (m.get(rest) ?? 0) + n);
  };
  for (const [k, n] of o.received) add(snap.received, k, n);
  for (const [k, n] of o.completed) add(snap.completed, k, n);
  for (const [app, counts] of o.latency) {
    const into = snap.latency.get(app);
    if (!into) snap.latency.set(app, [...counts]);
    else for (let i = 0; i < counts.length; i++) into[i]! += counts[i]!;
  }
}
