import { type Clock, type Dispatcher, systemClock } from '@hangar/core';
import { type HttpApp, principalOf } from '../../http/app.js';
import { PROMETHEUS_CONTENT_TYPE, renderGauges } from '../../telemetry/prometheus.js';
import { buildDispatchFamilies } from './dispatch-families.js';
import { buildAppFamilies } from './families.js';
import { buildGpuFamilies } from './gpu-families.js';
import type { RequestWindow } from './request-window.js';
import { buildStateTimeFamilies } from './state-families.js';

/** What the metrics route needs. */
export interface MetricsRoutesDeps {
  dispatcher: Pick<Dispatcher, 'stats'>;
  window: RequestWindow;
  /** How long one owner's rendered text is reused (config `metrics.cache_ttl_s`, fal says 10 s). */
  cacheTtlMs: number;
  /** Maps a machine type to the `machine_type` label (fal shows the GPU product, e.g. `NVIDIA H100`). */
  machineLabel?: (machineType: string) => string;
  clock?: Clock;
}

/** Renders the owner's exposition text, cached per owner for the TTL. */
export function createMetricsRenderer(deps: MetricsRoutesDeps): (owner: string) => string {
  const clock = deps.clock ?? systemClock;
  const label = deps.machineLabel ?? ((m: string) => m);
  const cache = new Map<string, { text: string; until: number }>();
  return (owner) => {
    const now = clock();
    const hit = cache.get(owner);
    if (hit && hit.until > now) return hit.text;
    const stats = deps.dispatcher.stats(owner);
    const families = [
      ...buildAppFamilies(owner, stats, deps.window.snapshot(owner), label),
      ...buildDispatchFamilies(owner, stats),
      ...buildGpuFamilies(owner, stats),
      ...buildStateTimeFamilies(owner, stats),
    ];
    const text = renderGauges(families);
    if (cache.size > 1000) for (const [k, v] of cache) if (v.until <= now) cache.delete(k);
    cache.set(owner, { text, until: now + deps.cacheTtlMs });
    return text;
  };
}

/** Registers `GET /v1/serverless/metrics` (Prometheus text, the caller's apps only). */
export function registerMetricsRoutes(app: HttpApp, deps: MetricsRoutesDeps): void {
  const render = createMetricsRenderer(deps);
  app.get(
    '/v1/serverless/metrics',
    { schema: { operationId: 'serverlessGetMetrics' } },
    async (request, reply) => {
      const text = render(principalOf(request).owner);
      return reply
        .header('content-type', PROMETHEUS_CONTENT_TYPE)
        .header('cache-control', 'no-store')
        .send(text);
    },
  );
}
