import { describe, expect, it } from 'vitest';
import { parseLabel } from './logs.js';
import { parsePrometheus } from './metrics.js';
import { totalLine } from './usage.js';

describe('parseLabel', () => {
  it('maps the four label conditions', () => {
    expect(parseLabel('fal_job_id=j1')).toEqual({ key: 'fal_job_id', value: 'j1', condition_type: 'equals' });
    expect(parseLabel('source!=gateway')).toEqual({
      key: 'source',
      value: 'gateway',
      condition_type: 'not_equals',
    });
    expect(parseLabel('level=info,warn')).toEqual({
      key: 'level',
      value: ['info', 'warn'],
      condition_type: 'in',
    });
    expect(parseLabel('k!=a,b')).toEqual({ key: 'k', value: ['a', 'b'], condition_type: 'not_in' });
    expect(parseLabel('k=a=b')).toEqual({ key: 'k', value: 'a=b', condition_type: 'equals' });
  });

  it('refuses a label without a key or an operator', () => {
    expect(() => parseLabel('novalue')).toThrow(/KEY=VALUE/);
    expect(() => parseLabel('=x')).toThrow(/KEY=VALUE/);
  });
});

describe('parsePrometheus', () => {
  it('reads samples with labels, skipping HELP and TYPE lines', () => {
    const text = [
      '# HELP fal_app_queue_size Current size of the fal app queue',
      '# TYPE fal_app_queue_size gauge',
      'fal_app_queue_size{application="alice/echo"} 7',
      'fal_app_request_latency{application="alice/echo",le="+Inf"} 24',
      'up 1',
      '',
    ].join('\n');
    expect(parsePrometheus(text)).toEqual([
      { name: 'fal_app_queue_size', labels: { application: 'alice/echo' }, value: 7 },
      { name: 'fal_app_request_latency', labels: { application: 'alice/echo', le: '+Inf' }, value: 24 },
      { name: 'up', labels: {}, value: 1 },
    ]);
  });

  it('unescapes label values', () => {
    expect(parsePrometheus('m{a="x\\"y\\\\z"} 1')[0]?.labels).toEqual({ a: 'x"y\\z' });
  });
});

describe('totalLine', () => {
  const row = (cost: number, quantity: number, currency = 'USD') => ({
    app: 'echo',
    environment: null,
    machine_type: 'CPU',
    unit: 'second',
    quantity,
    unit_price: 0.001,
    percent_discount: null,
    cost_subtotal: cost,
    cost_discount: 0,
    cost_total: cost,
    cost,
    currency,
    is_surge: false,
  });

  it('sums cost and machine-seconds', () => {
    expect(totalLine([row(0.5, 100), row(0.25, 50)])).toBe('total: $0.7500 USD (150 machine-seconds)');
    expect(totalLine([])).toBe('total: $0.00 USD (0 machine-seconds)');
    expect(totalLine([row(1, 1), row(2, 1, 'EUR')])).toBe('total: $1.00 USD + 2.00 EUR (2 machine-seconds)');
  });
});
