import type { HangarClient, RunnerHistoryResponse } from '@hangar/client';
import { type LiveAppStats, parseLiveStats } from './prometheus';

/** What one poll of the apps view learns. */
export interface LiveSnapshot {
  stats: Map<string, LiveAppStats> | undefined;
  statsError: unknown;
  queue: Map<string, number | null>;
  history: Map<string, RunnerHistoryResponse>;
  errors: unknown[];
}

/**
 * Polls the live figures of some apps: runner states and in-flight counts from the Prometheus text,
 * queue sizes from the queue operation, and runner history over the last `historySeconds`.
 */
export async function pollLive(
  client: HangarClient,
  appIds: readonly string[],
  historySeconds: number,
): Promise<LiveSnapshot> {
  const start = new Date(Date.now() - historySeconds * 1000).toISOString();
  const timeframe = historySeconds <= 2 * 3600 ? 'minute' : historySeconds <= 2 * 86_400 ? 'hour' : 'day';
  const [metrics, queues, histories] = await Promise.all([
    client.metrics.text().then(
      (t) => ({ ok: parseLiveStats(t), err: null }),
      (err: unknown) => ({ ok: undefined, err }),
    ),
    Promise.allSettled(appIds.map((id) => client.apps.queueSize(id))),
    Promise.allSettled(
      appIds.map((id) => client.apps.runnerHistory(id, { start, timeframe, aggregation: 'max' })),
    ),
  ]);
  const snap: LiveSnapshot = {
    stats: metrics.ok,
    statsError: metrics.err,
    queue: new Map(),
    history: new Map(),
    errors: [],
  };
  appIds.forEach((id, i) => {
    const q = queues[i]!;
    snap.queue.set(id, q.status === 'fulfilled' ? q.value.queue_size : null);
    if (q.status === 'rejected') snap.errors.push(q.reason);
    const h = histories[i]!;
    if (h.status === 'fulfilled') snap.history.set(id, h.value);
    else snap.errors.push(h.reason);
  });
  return snap;
}
