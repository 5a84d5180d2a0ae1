import { type DispatchResult, FAL_ERROR_TYPE_HEADER, HANGAR_ERROR_CODE_HEADER } from '@hangar/core';

/** Which runner served the request (fal: "internal identifier of the runner that served the request"). */
export const SERVED_FROM_HEADER = 'x-fal-served-from';

/** `user` on a 504 caused by the caller's start deadline (`X-Fal-Request-Timeout`). */
export const TIMEOUT_TYPE_HEADER = 'x-fal-request-timeout-type';

/** The app's billing units, returned to the caller as fal does (and still used for billing). */
export const BILLABLE_UNITS_HEADER = 'x-fal-billable-units';

/** Headers of a dispatch result that belong to the platform's answer, copied as the result gives them. */
const PASSED_ON = [
  FAL_ERROR_TYPE_HEADER,
  HANGAR_ERROR_CODE_HEADER,
  TIMEOUT_TYPE_HEADER,
  BILLABLE_UNITS_HEADER,
] as const;

/**
 * The response headers the platform returns with an answer, on `/run` and with a queued request's
 * result alike: the runner that served it, the app's billing units, and for platform errors their
 * `error_type` and timeout type.
 */
export function platformHeaders(result: DispatchResult): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of PASSED_ON) {
    const value = result.headers[name];
    if (value !== undefined) out[name] = value;
  }
  if (result.runnerId !== null) out[SERVED_FROM_HEADER] = result.runnerId;
  return out;
}
