import { type AppManifest, type RetryCondition, retryBudgetOf } from '@hangar/core';
import type { Job } from './job.js';

/**
 * How a failed attempt is treated: `default` follows the budgets and `X-Fal-No-Retry`; `forced` (the
 * app's `X-Fal-Needs-Retry: 1`) ignores `skip_retry_conditions`; `refused` (nothing reached the app)
 * retries any request, direct calls included. The attempt ceiling bounds all three.
 */
export type RetryMode = 'default' | 'forced' | 'refused';

/** Whether `job` may be retried under `condition`, given the app's manifest and the attempt ceiling. */
export function mayRetry(
  job: Job,
  manifest: AppManifest,
  condition: RetryCondition,
  mode: RetryMode,
  maxAttempts: number,
): boolean {
  if (job.priorAttempts + job.attempts >= maxAttempts) return false;
  if (mode === 'refused') return true;
  if (job.req.noRetry) return false;
  const budget = retryBudgetOf(condition, job.req.retryBudgets, budgetRules(manifest, mode));
  return job.retriesBy[condition] < budget;
}

/** The app's retry rules as a retry of `mode` applies them: a forced retry ignores `skip_retry_conditions`. */
function budgetRules(
  m: AppManifest,
  mode: RetryMode,
): Pick<AppManifest, 'skip_retry_conditions' | 'retry_config'> {
  return mode === 'forced' ? { retry_config: m.retry_config } : m;
}
