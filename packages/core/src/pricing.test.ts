import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { priceUsage, roundMoney } from './pricing.js';

const base = {
  app: 'my-app',
  environment: 'main',
  machineType: 'GPU-H100',
  surgeMultiplier: 1.5,
  currency: 'USD',
};

describe('priceUsage', () => {
  it('prices plain usage like fal’s example row', () => {
    const row = priceUsage({
      ...base,
      isSurge: false,
      quantity: 1200,
      basePrice: 0.00099,
      percentDiscount: null,
    });
    expect(row).toEqual({
      app: 'my-app',
      environment: 'main',
      machine_type: 'GPU-H100',
      unit: 'second',
      quantity: 1200,
      unit_price: 0.00099,
      percent_discount: null,
      cost_subtotal: 1.188,
      cost_discount: 0,
      cost_total: 1.188,
      cost: 1.188,
      currency: 'USD',
      is_surge: false,
    });
  });

  it('applies the surge multiplier to the unit price and then the discount', () => {
    const row = priceUsage({ ...base, isSurge: true, quantity: 100, basePrice: 0.001, percentDiscount: 20 });
    expect(row.unit_price).toBe(0.0015);
    expect(row.cost_subtotal).toBe(0.15);
    expect(row.cost_discount).toBe(0.03);
    expect(row.cost_total).toBe(0.12);
    expect(row.percent_discount).toBe(20);
    expect(row.is_surge).toBe(true);
  });

  it('treats a zero discount as none', () => {
    expect(
      priceUsage({ ...base, isSurge: false, quantity: 1, basePrice: 1, percentDiscount: 0 }).percent_discount,
    ).toBeNull();
  });

  it('keeps subtotal = total + discount at the published precision', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0, max: 1e7, noNaN: true }),
        fc.double({ min: 0, max: 0.01, noNaN: true }),
        fc.boolean(),
        fc.option(fc.double({ min: 0, max: 100, noNaN: true })),
        (quantity, basePrice, isSurge, percentDiscount) => {
          const r = priceUsage({ ...base, quantity, basePrice, isSurge, percentDiscount });
          expect(roundMoney(r.cost_total + r.cost_discount)).toBe(r.cost_subtotal);
          expect(r.cost).toBe(r.cost_total);
          expect(r.cost_total).toBeGreaterThanOrEqual(0);
          expect(r.cost_discount).toBeGreaterThanOrEqual(0);
        },
      ),
    );
  });
});
