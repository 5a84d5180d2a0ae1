import type { ServerlessApp } from '@hangar/client';
import { type AsyncState, useAsync } from './hooks';
import { useSession } from './session';

/** The caller's apps with their route-level endpoint ids. */
export function useApps(): AsyncState<ServerlessApp[]> {
  const { client } = useSession();
  return useAsync(async () => (await client.apps.list({ expand: 'endpoints' })).apps, [client]);
}

/** Endpoint ids to pick from: each app, then its routes (a bare app id covers all of its routes). */
export function endpointChoices(apps: readonly ServerlessApp[]): { value: string; label: string }[] {
  const out: { value: string; label: string }[] = [];
  for (const app of apps) {
    out.push({ value: app.endpoint_id, label: `${app.endpoint_id} (all routes)` });
    for (const e of app.endpoints ?? []) {
      if (e !== app.endpoint_id) out.push({ value: e, label: `  ${e}` });
    }
  }
  return out;
}
