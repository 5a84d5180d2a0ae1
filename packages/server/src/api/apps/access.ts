import { type AppReads, PlatformError, type Principal } from '@hangar/core';
import { Type } from 'typebox';

/**
 * Path parameters of the per-app operations. Any text is accepted: fal lists no 400 for the queue
 * size, so a name that cannot exist is answered by the access rule (403 or 404).
 */
export const AppParams = Type.Object({
  owner: Type.String(),
  name: Type.String(),
});

/** Throws 403 unless the caller owns the app, then 404 unless it exists (so others learn nothing). */
export async function requireOwnedApp(
  apps: Pick<AppReads, 'exists'>,
  principal: Principal,
  owner: string,
  name: string,
): Promise<void> {
  if (owner !== principal.owner) throw new PlatformError('AUTH_FORBIDDEN', 'Only the app owner can query it');
  if (!(await apps.exists({ owner, app: name }))) {
    throw new PlatformError('APP_NOT_FOUND', `App ${owner}/${name} not found`);
  }
}
