import type { ServerlessApp } from '@hangar/client';
import { AppSettings, LiveFigures, RunnerHistoryChart } from '../components/app-live';
import { Empty, ErrorBox, Loading, PageHeader } from '../components/ui';
import { useApps } from '../lib/apps';
import { fmtAgo } from '../lib/format';
import { useAsync } from '../lib/hooks';
import { type LiveSnapshot, pollLive } from '../lib/live';
import { statsOf } from '../lib/prometheus';
import { onLinkClick } from '../lib/router';
import { useSession } from '../lib/session';

/** How often the live figures refresh. */
export const LIVE_POLL_MS = 2000;

/** Every app with its runners by state, queue and recent runner history, refreshed every 2 s. */
export function AppsPage() {
  const { client } = useSession();
  const apps = useApps();
  const ids = (apps.data ?? []).map((a) => a.endpoint_id);
  const live = useAsync(
    () => (ids.length ? pollLive(client, ids, 1800) : Promise.resolve(undefined)),
    [client, ids.join(',')],
    LIVE_POLL_MS,
  );

  return (
    <div class="page">
      <PageHeader title="Apps" sub="Runners, queues and scaling of your deployed apps, live.">
        <span class={`live-dot ${live.error ? 'off' : ''}`} title="Refreshes every 2 seconds">
          live
        </span>
      </PageHeader>
      {apps.error ? <ErrorBox error={apps.error} onRetry={apps.reload} /> : null}
      {live.error ? <ErrorBox error={live.error} /> : null}
      {live.data?.statsError ? <ErrorBox error={live.data.statsError} /> : null}
      {!apps.data && !apps.error && <Loading />}
      {apps.data?.length === 0 && (
        <Empty>
          No apps yet. Deploy one with <code>hangar deploy DIR</code>.
        </Empty>
      )}
      <div class="cards">
        {apps.data?.map((app) => (
          <AppCard key={app.endpoint_id} app={app} live={live.data} />
        ))}
      </div>
    </div>
  );
}

function AppCard({ app, live }: { app: ServerlessApp; live: LiveSnapshot | undefined }) {
  const href = `/apps/${encodeURIComponent(app.owner)}/${encodeURIComponent(app.name)}`;
  const history = live?.history.get(app.endpoint_id);
  const routes = (app.endpoints ?? []).map((e) => e.slice(app.endpoint_id.length) || '/');
  return (
    <section class="card app-card" data-app={app.endpoint_id}>
      <header class="card-head">
        <div>
          <h2>
            <a href={href} onClick={onLinkClick}>
              {app.name}
            </a>
          </h2>
          <span class="muted mono">{app.endpoint_id}</span>
        </div>
        <span class="muted small" title={app.updated_at}>
          updated {fmtAgo(app.updated_at)}
        </span>
      </header>
      <LiveFigures
        stats={statsOf(live?.stats, app.endpoint_id)}
        queueSize={live?.queue.get(app.endpoint_id) ?? null}
      />
      {history && <RunnerHistoryChart history={history} />}
      <AppSettings app={app} />
      <footer class="card-foot">
        <span class="muted small">
          routes: {routes.length ? routes.map((r) => <code key={r}>{r}</code>) : <code>/</code>}
        </span>
        <a href={href} onClick={onLinkClick} class="small">
          Revisions and events →
        </a>
      </footer>
    </section>
  );
}
