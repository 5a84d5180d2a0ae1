// Rounding (half away from zero): quantities to 0.001 machine-second, unit prices to 1e-9, money to 1e-6
// (micro-units of the currency). The discount is rounded first and the total is subtotal − discount, so
// `cost_subtotal = cost_total + cost_discount` holds exactly at the published precision.

/** One usage line item in fal's `UsageRow` shape (all 13 fields). */
export interface UsageRow {
  app: string | null;
  environment: string | null;
  machine_type: string;
  unit: 'second';
  quantity: number;
  unit_price: number;
  percent_discount: number | null;
  cost_subtotal: number;
  cost_discount: number;
  cost_total: number;
  /** Deprecated by fal; always equals `cost_total`. */
  cost: number;
  currency: string;
  is_surge: boolean;
}

/** What a usage row is priced from. */
export interface UsageInput {
  app: string | null;
  environment: string | null;
  machineType: string;
  isSurge: boolean;
  /** Machine-seconds. */
  quantity: number;
  /** Base price per machine-second (before surge). */
  basePrice: number;
  /** Multiplier applied to the base price for surge rows. */
  surgeMultiplier: number;
  /** Owner's percent discount 0–100, or null/0 for none. */
  percentDiscount: number | null;
  currency?: string;
}

function roundTo(value: number, decimals: number): number {
  const f = 10 ** decimals;
  const r = Math.round(Math.abs(value) * f + Number.EPSILON * f) / f;
  return value < 0 ? -r : r;
}

/** Rounds an amount of money to the published precision (1e-6). */
export const roundMoney = (v: number): number => roundTo(v, 6);

/** Prices one usage row: surge rows at base price × multiplier, then the percent discount. */
export function priceUsage(u: UsageInput): UsageRow {
  const quantity = Math.max(0, roundTo(u.quantity, 3));
  const unitPrice = roundTo(u.isSurge ? u.basePrice * u.surgeMultiplier : u.basePrice, 9);
  const pct = u.percentDiscount !== null && u.percentDiscount > 0 ? Math.min(100, u.percentDiscount) : null;
  const subtotal = roundMoney(quantity * unitPrice);
  const discount = pct === null ? 0 : roundMoney((subtotal * pct) / 100);
  const total = Math.max(0, roundMoney(subtotal - discount));
  return {
    app: u.app,
    environment: u.environment,
    machine_type: u.machineType,
    unit: 'second',
    quantity,
    unit_price: unitPrice,
    percent_discount: pct,
    cost_subtotal: subtotal,
    cost_discount: discount,
    cost_total: total,
    cost: total,
    currency: u.currency ?? 'USD',
    is_surge: u.isSurge,
  };
}
