/** Live figures of one app, read from the Prometheus exposition of `/v1/serverless/metrics`. */
export interface LiveAppStats {
  /** Runner count by state (`pending`, `setup`, `idle`, `running`, `draining`). */
  runners: Record<string, number>;
  queueSize: number;
  concurrent: number;
  /** Requests received in the last minute. */
  receivedPerMinute: number;
}

/** Runner states in the order the dashboard shows them. */
export const RUNNER_STATES = [
  'running',
  'idle',
  'setup',
  'docker_pull',
  'pending',
  'draining',
  'terminating',
] as const;

const SAMPLE = /^([a-zA-Z_:][\w:]*)\{([^}]*)\}\s+(\S+)/;
const LABEL = /(\w+)="((?:[^"\\]|\\.)*)"/g;

function labelsOf(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of text.matchAll(LABEL))
    out[m[1]!] = m[2]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
  return out;
}

function emptyStats(): LiveAppStats {
  return { runners: {}, queueSize: 0, concurrent: 0, receivedPerMinute: 0 };
}

/**
 * Live stats by `owner/app`, from the `fal_app_*` gauges. Runner states come from `hangar_app_runners`
 * (the exact states) when the exposition has it, else from fal's three-state `fal_app_runners`.
 */
export function parseLiveStats(text: string): Map<string, LiveAppStats> {
  const out = new Map<string, LiveAppStats>();
  const exact = new Map<string, Record<string, number>>();
  for (const line of text.split('\n')) {
    const m = SAMPLE.exec(line);
    if (!m) continue;
    const labels = labelsOf(m[2]!);
    const app = labels['application'];
    const value = Number(m[3]);
    if (!app || !Number.isFinite(value)) continue;
    let s = out.get(app);
    if (!s) {
      s = emptyStats();
      out.set(app, s);
    }
    switch (m[1]) {
      case 'fal_app_runners': {
        const state = labels['state'] ?? 'unknown';
        s.runners[state] = (s.runners[state] ?? 0) + value;
        break;
      }
      case 'hangar_app_runners': {
        const state = labels['state'] ?? 'unknown';
        const r = exact.get(app) ?? {};
        r[state] = (r[state] ?? 0) + value;
        exact.set(app, r);
        break;
      }
      case 'fal_app_queue_size':
        s.queueSize = value;
        break;
      case 'fal_app_concurrent_requests':
        s.concurrent = value;
        break;
      case 'fal_app_requests_received':
        s.receivedPerMinute += value;
        break;
    }
  }
  for (const [app, runners] of exact) out.get(app)!.runners = runners;
  return out;
}

/** The stats of an app, zeros when the exposition does not mention it. */
export function statsOf(all: Map<string, LiveAppStats> | undefined, appId: string): LiveAppStats {
  return all?.get(appId) ?? emptyStats();
}
