// The engine-neutral helpers the PostgreSQL reads share with the SQLite ones (rollup tiers, live usage),
// imported in this one place so that moving them touches one line each.
export { meterKey, unstoredMeter } from '../../live-usage.js';
export { METER_SPANS, planTiers, type Range, ROLLUP_SPANS } from '../../sqlite/reads/tiers.js';
