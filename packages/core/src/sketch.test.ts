import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodedQuantiles, QuantileSketch, quantileRank } from './sketch.js';

const QS = [0, 0.01, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999, 1];

function exact(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[quantileRank(q, sorted.length)]!;
}

function relErr(estimate: number, truth: number): number {
  return truth === 0 ? Math.abs(estimate) : Math.abs(estimate - truth) / truth;
}

/** Standard normal from two uniforms (Box–Muller). */
const normal = (u1: number, u2: number) => Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);

const unit = fc.double({ min: 1e-9, max: 1, noNaN: true, maxExcluded: true });
const lognormal = fc
  .record({
    mu: fc.double({ min: -2, max: 8, noNaN: true }),
    sigma: fc.double({ min: 0.1, max: 3, noNaN: true }),
  })
  .chain(({ mu, sigma }) =>
    fc.array(
      fc.tuple(unit, unit).map(([a, b]) => Math.exp(mu + sigma * normal(a, b))),
      { minLength: 1, maxLength: 400 },
    ),
  );
const pareto = fc
  .record({
    xm: fc.double({ min: 0.5, max: 1000, noNaN: true }),
    alpha: fc.double({ min: 0.5, max: 3, noNaN: true }),
  })
  .chain(({ xm, alpha }) =>
    fc.array(
      unit.map((u) => xm / (1 - u) ** (1 / alpha)),
      { minLength: 1, maxLength: 400 },
    ),
  );
const withZeros = fc.array(fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 100_000 })), {
  minLength: 1,
  maxLength: 300,
});

describe('QuantileSketch', () => {
  it('is empty until a value is added', () => {
    const s = new QuantileSketch();
    expect(s.quantile(0.5)).toBeNull();
    expect(encodedQuantiles(s.encode(), [0.5])).toEqual([null]);
    expect(s.encode().length).toBe(2);
  });

  it('keeps every quantile within 1% of the exact value on skewed data, merged in any split', () => {
    fc.assert(
      fc.property(fc.oneof(lognormal, pareto, withZeros), fc.integer({ min: 1, max: 7 }), (values, parts) => {
        const sketches = Array.from({ length: parts }, () => new QuantileSketch());
        values.forEach((v, i) => {
          sketches[i % parts]!.add(v);
        });
        const merged = new QuantileSketch();
        for (const s of sketches) merged.mergeEncoded(s.encode());
        const direct = new QuantileSketch();
        for (const v of values) direct.add(v);
        const fromBuffer = encodedQuantiles(merged.encode(), QS);
        QS.forEach((q, i) => {
          const truth = exact(values, q);
          expect(relErr(merged.quantile(q)!, truth)).toBeLessThanOrEqual(0.01);
          expect(fromBuffer[i]).toBe(merged.quantile(q));
          expect(direct.quantile(q)).toBe(merged.quantile(q));
        });
        expect(merged.count).toBe(values.length);
      }),
      { numRuns: 400 },
    );
  });

  it('round-trips through its encoding and stays compact', () => {
    const s = new QuantileSketch();
    for (let i = 1; i <= 10_000; i++) s.add(50 + (i % 977) * 3.7);
    const buf = s.encode();
    expect(buf.length).toBeLessThan(2048);
    const back = QuantileSketch.decode(buf);
    expect(back.count).toBe(10_000);
    expect(back.quantiles(QS)).toEqual(s.quantiles(QS));
    expect(back.encode().equals(buf)).toBe(true);
  });

  it('merges sketches whose ranges do not overlap', () => {
    const a = new QuantileSketch();
    const b = new QuantileSketch();
    a.add(1);
    b.add(1e6);
    b.add(1e-3);
    a.merge(b);
    expect(a.quantiles([0, 0.5, 1])).toEqual([1e-3, expect.closeTo(1, 2), 1e6]);
  });
});
