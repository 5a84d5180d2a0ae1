import { PlatformError, type Principal } from '@hangar/core';
import { Type } from 'typebox';
import type { RunQuery } from './run-query.js';

/** Path parameters of the per-app operations. */
export const AppParams = Type.Object({
  owner: Type.String({ minLength: 1 }),
  name: Type.String({ minLength: 1 }),
});

/** Throws 403 unless the caller owns the app, then 404 unless it exists (so others learn nothing). */
export async function requireOwnedApp(
  runQuery: RunQuery,
  principal: Principal,
  owner: string,
  name: string,
): Promise<void> {
  if (owner !== principal.owner) throw new PlatformError('AUTH_FORBIDDEN', 'Only the app owner can query it');
  if (!(await runQuery('apps.exists', { owner, app: name }))) {
    throw new PlatformError('APP_NOT_FOUND', `App ${owner}/${name} not found`);
  }
}
