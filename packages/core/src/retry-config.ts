import { type AppManifest, RETRY_CONDITIONS, type RetryBudgets, type RetryCondition } from './domain.js';

/**
 * Reads fal's `X-Fal-Retry-Config` value: a JSON object mapping a retry condition to `{"retries": N}`.
 * As fal documents, invalid JSON, unknown conditions and any other form (`"timeout": 0`) are ignored
 * silently; null when nothing usable remains.
 */
export function parseRetryConfig(value: string | undefined): RetryBudgets | null {
  if (value === undefined || value.trim() === '') return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    return null;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return null;
  const out: RetryBudgets = {};
  let any = false;
  for (const condition of RETRY_CONDITIONS) {
    const entry = (parsed as Record<string, unknown>)[condition];
    if (typeof entry !== 'object' || entry === null) continue;
    const retries = (entry as { retries?: unknown }).retries;
    if (typeof retries !== 'number' || !Number.isInteger(retries) || retries < 0) continue;
    out[condition] = retries;
    any = true;
  }
  return any ? out : null;
}

/**
 * Retries a condition allows after the first attempt: the caller's budget, else 0 when the app skips the
 * condition, else the app's `retry_config`, else unlimited (the platform's attempt ceiling still applies).
 */
export function retryBudgetOf(
  condition: RetryCondition,
  caller: RetryBudgets | null,
  manifest: Pick<AppManifest, 'skip_retry_conditions' | 'retry_config'>,
): number {
  const own = caller?.[condition];
  if (own !== undefined) return own;
  if (manifest.skip_retry_conditions?.includes(condition)) return 0;
  return manifest.retry_config?.[condition]?.retries ?? Number.POSITIVE_INFINITY;
}
