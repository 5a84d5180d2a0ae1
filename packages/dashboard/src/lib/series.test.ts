import type { AnalyticsRecord, UsageRow } from '@hangar/client';
import { describe, expect, it } from 'vitest';
import { errorRate, mergeAnalytics, usageLayers } from './series';

const row = (app: string, machine: string, quantity: number, cost: number): UsageRow => ({
  app,
  environment: null,
  machine_type: machine,
  unit: 'second',
  quantity,
  unit_price: cost / quantity,
  percent_discount: null,
  cost_subtotal: cost,
  cost_discount: 0,
  cost_total: cost,
  cost,
  currency: 'USD',
  is_surge: false,
});

describe('usageLayers', () => {
  const buckets = [
    { bucket: '2025-01-01T01:00:00Z', results: [row('a', 'CPU', 10, 1), row('b', 'GPU', 5, 4)] },
    { bucket: '2025-01-01T00:00:00Z', results: [row('a', 'CPU', 20, 2)] },
    { bucket: '2025-01-01T00:00:00+00:00', results: [row('c', 'CPU', 1, 0.1)] },
  ];

  it('sorts buckets, merges equal instants and ranks groups by total', () => {
    const l = usageLayers(buckets, 'app', 'quantity');
    expect(l.xs).toEqual([1735689600, 1735693200]);
    expect(l.layers.map((x) => x.label)).toEqual(['a', 'b', 'c']);
    expect(l.layers[0]!.values).toEqual([20, 10]);
    expect(l.layers[2]!.values).toEqual([1, 0]);
  });

  it('groups by machine type and folds small groups into other', () => {
    const l = usageLayers(buckets, 'machine_type', 'cost_total', 1);
    expect(l.layers.map((x) => x.label)).toEqual(['other']);
    expect(l.layers[0]!.values).toEqual([2.1, 5]);
  });
});

describe('mergeAnalytics', () => {
  const rec = (endpoint_id: string, n: number, p50: number, errors = 0): AnalyticsRecord => ({
    endpoint_id,
    request_count: n,
    error_count: errors,
    user_error_count: 0,
    p50_duration: p50,
  });

  it('sums counts and weights percentiles by request count', () => {
    const m = mergeAnalytics([
      { bucket: '2025-01-01T00:00:00Z', results: [rec('a', 3, 1, 1), rec('a/r', 1, 5)] },
    ]);
    expect(m.get('request_count')).toEqual([4]);
    expect(m.get('p50_duration')).toEqual([2]);
    expect(m.get('p99_duration')).toEqual([null]);
    expect(errorRate(m)).toEqual([25]);
  });
});
