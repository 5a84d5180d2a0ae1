import { type App, type EndpointSelector, PlatformError, type Principal } from '@hangar/core';

/** Finds an app by owner and name (the app store's `getApp`). */
export type AppLookup = (owner: string, name: string) => Promise<App | null>;

const ENDPOINT_ID = /^([^/\s]+)\/([^/\s]+)(\/\S+)?$/;

/**
 * Checks that the caller owns every endpoint (403 otherwise, before revealing whether any exists) and that
 * each one's app exists (404), then returns the selectors; a bare `owner/app` covers the app's routes.
 */
export async function authorizeEndpoints(
  principal: Principal,
  ids: readonly string[],
  apps: AppLookup,
): Promise<EndpointSelector[]> {
  const parsed = ids.map((id) => {
    const m = ENDPOINT_ID.exec(id);
    if (!m) {
      throw new PlatformError(
        'REQUEST_INVALID',
        `endpoint_id "${id}" must look like owner/app or owner/app/route`,
      );
    }
    return { id, owner: m[1]!, app: m[2]!, bare: m[3] === undefined };
  });
  const foreign = parsed.find((p) => p.owner !== principal.owner);
  if (foreign)
    throw new PlatformError('AUTH_FORBIDDEN', `You must own every requested endpoint (${foreign.id})`);
  const names = [...new Set(parsed.map((p) => p.app))];
  const found = await Promise.all(names.map((name) => apps(principal.owner, name)));
  const missing = names.find((_, i) => found[i] === null);
  if (missing !== undefined)
    throw new PlatformError('APP_NOT_FOUND', `App ${principal.owner}/${missing} not found`);
  return parsed.map(({ id, bare }) => ({ id, bare }));
}
