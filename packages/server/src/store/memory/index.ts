import {
  type AppEvent,
  type Clock,
  type LogLine,
  type MeterRecord,
  type RollupRow,
  type RunnerRow,
  type RunnerSample,
  type Stores,
  systemClock,
} from '@hangar/core';
import { DEFAULT_JSON_CAP } from '../payload.js';
import { MemoryAppStore, MemoryKeyStore } from './catalog.js';
import { createMemoryReads, createMemoryRollups } from './reads/index.js';
import { MemoryRequestStore } from './requests.js';
import { MemorySecretStore } from './secrets.js';

export { MemoryAppStore, MemoryKeyStore } from './catalog.js';
export { MemoryRequestStore } from './requests.js';
export { MemorySecretStore } from './secrets.js';

/** Options of the memory stores. */
export interface MemoryStoresOptions {
  clock?: Clock;
  /** Byte cap of stored `json_input`/`json_output` (default 64 KiB). */
  jsonCap?: number;
}

/** What the memory stores hold that the ports only write (for tests). */
export interface MemorySnapshot {
  logs: LogLine[];
  events: AppEvent[];
  meter: MeterRecord[];
  samples: RunnerSample[];
  runners: RunnerRow[];
  rollups: RollupRow[];
}

/** The memory stores plus a look at their write-only tables. */
export interface MemoryStores extends Stores {
  snapshot(): MemorySnapshot;
}

/** Every store in process memory: nothing survives `close()`. For tests and demos. */
export function createMemoryStores(opts: MemoryStoresOptions = {}): MemoryStores {
  const clock = opts.clock ?? systemClock;
  const logs: LogLine[] = [];
  const events = new Map<string, AppEvent>();
  const meter = new Map<string, MeterRecord>();
  const samples: RunnerSample[] = [];
  const runners = new Map<string, RunnerRow>();
  const rollups: RollupRow[] = [];
  let nextLogId = 1;
  const apps = new MemoryAppStore();
  const requests = new MemoryRequestStore(clock, opts.jsonCap ?? DEFAULT_JSON_CAP);
  return {
    keys: new MemoryKeyStore(clock),
    apps,
    requests,
    secrets: new MemorySecretStore(),
    rollups: createMemoryRollups(rollups),
    reads: createMemoryReads({ requests, apps, logs, events, meter, samples, runners, rollups }),
    logs: {
      append(lines) {
        for (const line of lines) {
          line.id = nextLogId++;
          logs.push({ ...line, labels: { ...line.labels } });
        }
      },
      async listByRequest(requestId, afterId = 0) {
        return logs
          .filter((l) => l.labels.fal_request_id === requestId && l.id! > afterId)
          .map((l) => ({ ...l, labels: { ...l.labels } }));
      },
    },
    // A rewritten event id replaces the event, as the SQLite store's `INSERT OR REPLACE`.
    events: { append: (e) => void events.set(e.eventId, structuredClone(e)) },
    meter: {
      record(rows) {
        for (const r of rows) meter.set(`${r.runnerId}\0${r.minute}`, { ...r });
      },
    },
    samples: { append: (rows) => void samples.push(...rows.map((s) => ({ ...s }))) },
    runners: {
      upsertRunner: (r) => void runners.set(r.runnerId, structuredClone(r)),
      async listLiveRunners() {
        return [...runners.values()]
          .filter((r) => r.endedAt === null)
          .sort((a, b) => a.startedAt - b.startedAt || (a.runnerId < b.runnerId ? -1 : 1))
          .map((r) => structuredClone(r));
      },
      async findRunner(owner, app, runnerId) {
        const r = runners.get(runnerId);
        return r && r.owner === owner && r.app === app ? structuredClone(r) : null;
      },
    },
    flush: async () => {},
    close: async () => {},
    snapshot: () => ({
      logs: logs.map((l) => ({ ...l })),
      events: [...events.values()],
      meter: [...meter.values()],
      samples: [...samples],
      runners: [...runners.values()],
      rollups: [...rollups],
    }),
  };
}
