import { APP_EVENT_CATEGORIES, type AppEvent, type AppEventCategory } from '@hangar/client';
import { useState } from 'preact/hooks';
import { AppSettings, LiveFigures, RunnerHistoryChart } from '../components/app-live';
import { RunnerList } from '../components/runner-list';
import { Empty, ErrorBox, Field, Loading, PageHeader, Select } from '../components/ui';
import { useApps } from '../lib/apps';
import { fmtAgo, fmtTime, shortId } from '../lib/format';
import { useAsync } from '../lib/hooks';
import { pollLive } from '../lib/live';
import { statsOf } from '../lib/prometheus';
import { onLinkClick } from '../lib/router';
import { useSession } from '../lib/session';
import { RANGES, windowOf } from '../lib/time';
import { LIVE_POLL_MS } from './apps';

const HISTORY_RANGES = RANGES.filter((r) => ['1h', '6h', '24h', '7d'].includes(r.id));

/** One app: live figures, runner history, revisions and lifecycle events. */
export function AppDetailPage({ owner, name }: { owner: string; name: string }) {
  const { client } = useSession();
  const appId = `${owner}/${name}`;
  const [range, setRange] = useState('1h');
  const apps = useApps();
  const app = apps.data?.find((a) => a.endpoint_id === appId);
  const seconds = RANGES.find((r) => r.id === range)!.seconds;
  const live = useAsync(() => pollLive(client, [appId], seconds), [client, appId, seconds], LIVE_POLL_MS);
  const [flushMsg, setFlushMsg] = useState<string | null>(null);
  const [flushErr, setFlushErr] = useState<unknown>(null);

  const flush = async () => {
    if (!window.confirm(`Cancel every queued request of ${appId}? Running requests are not touched.`)) return;
    setFlushErr(null);
    try {
      await client.apps.flushQueue(appId, { idempotencyKey: crypto.randomUUID() });
      setFlushMsg('Queue flushed.');
      live.reload();
    } catch (err) {
      setFlushErr(err);
    }
  };

  const q = encodeURIComponent(appId);
  const history = live.data?.history.get(appId);
  return (
    <div class="page">
      <PageHeader title={name} sub={appId}>
        <a class="btn" href={`/requests?endpoint=${q}`} onClick={onLinkClick}>
          Requests
        </a>
        <a class="btn" href={`/logs?app=${q}`} onClick={onLinkClick}>
          Logs
        </a>
        <a class="btn" href={`/analytics?endpoint=${q}`} onClick={onLinkClick}>
          Analytics
        </a>
        <button type="button" class="btn danger" onClick={flush}>
          Flush queue
        </button>
      </PageHeader>
      {flushMsg && <div class="notice">{flushMsg}</div>}
      {flushErr ? <ErrorBox error={flushErr} /> : null}
      {apps.error ? <ErrorBox error={apps.error} /> : null}
      {live.error ? <ErrorBox error={live.error} /> : null}
      {live.data?.errors[0] ? <ErrorBox error={live.data.errors[0]} /> : null}
      <section class="card">
        <header class="card-head">
          <h2>Runners</h2>
          <Field label="Window">
            <Select
              value={range}
              onChange={setRange}
              options={HISTORY_RANGES.map((r) => ({ value: r.id, label: r.label }))}
            />
          </Field>
        </header>
        <LiveFigures
          stats={statsOf(live.data?.stats, appId)}
          queueSize={live.data?.queue.get(appId) ?? null}
        />
        {history ? <RunnerHistoryChart history={history} height={180} /> : <Loading />}
        {app && <AppSettings app={app} />}
        <RunnerList appId={appId} pollMs={LIVE_POLL_MS} />
      </section>
      <div class="two-col">
        <Revisions appId={appId} />
        <Events appId={appId} />
      </div>
    </div>
  );
}

function Revisions({ appId }: { appId: string }) {
  const { client } = useSession();
  const revs = useAsync(() => client.apps.revisions(appId, { limit: 50 }), [client, appId], 10_000);
  return (
    <section class="card">
      <header class="card-head">
        <h2>Revisions</h2>
      </header>
      {revs.error ? <ErrorBox error={revs.error} onRetry={revs.reload} /> : null}
      {!revs.data && !revs.error && <Loading />}
      {revs.data?.revisions.length === 0 && <Empty>No revisions.</Empty>}
      {revs.data && revs.data.revisions.length > 0 && (
        <div class="table-wrap">
          <table class="table" aria-label="Revisions">
            <thead>
              <tr>
                <th>Revision</th>
                <th>Deployed</th>
                <th>Status</th>
                <th>By</th>
                <th>Message</th>
              </tr>
            </thead>
            <tbody>
              {revs.data.revisions.map((r) => (
                <tr key={r.revision_id}>
                  <td class="mono" title={r.revision_id}>
                    {shortId(r.revision_id)} {r.is_current && <span class="badge ok">current</span>}
                  </td>
                  <td title={r.created_at}>{fmtAgo(r.created_at)}</td>
                  <td>
                    <span
                      class={`badge ${r.status === 'failed' ? 'bad' : r.status === 'deployed' ? 'ok' : ''}`}
                    >
                      {r.status ?? '—'}
                    </span>
                  </td>
                  <td>{r.deployed_by ?? '—'}</td>
                  <td class="wrap">
                    {r.message ?? ''}
                    {r.annotations &&
                      Object.entries(r.annotations).map(([k, v]) => (
                        <code key={k} class="tag">
                          {k}={v}
                        </code>
                      ))}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

function eventSummary(e: AppEvent): string {
  const p = e.payload;
  const parts = [p.state, p.reason, p.machine_type, p.job_id ? `runner ${shortId(p.job_id)}` : undefined];
  if (p.new_application_id) parts.push(`revision ${shortId(p.new_application_id)}`);
  return parts.filter(Boolean).join(' · ');
}

function eventTone(category: string): string {
  if (/failed|failure/.test(category)) return 'bad';
  if (/draining|stopping|pending/.test(category)) return 'warn';
  if (/started|ended|finished/.test(category)) return 'ok';
  return '';
}

function Events({ appId }: { appId: string }) {
  const { client } = useSession();
  const [category, setCategory] = useState<'' | AppEventCategory>('');
  const [range, setRange] = useState('24h');
  const events = useAsync(
    () =>
      client.apps.events(appId, {
        ...windowOf(range),
        limit: 100,
        ...(category ? { category } : {}),
      }),
    [client, appId, category, range],
    5000,
  );
  return (
    <section class="card">
      <header class="card-head">
        <h2>Events</h2>
        <div class="toolbar">
          <Select
            value={category}
            onChange={setCategory}
            options={[{ value: '', label: 'All categories' }, ...APP_EVENT_CATEGORIES]}
          />
          <Select
            value={range}
            onChange={setRange}
            options={RANGES.map((r) => ({ value: r.id, label: r.label }))}
          />
        </div>
      </header>
      {events.error ? <ErrorBox error={events.error} onRetry={events.reload} /> : null}
      {!events.data && !events.error && <Loading />}
      {events.data?.events.length === 0 && <Empty>No events in this window.</Empty>}
      <ol class="events" aria-label="Events">
        {events.data?.events.map((e) => (
          <li key={e.event_id}>
            <span class={`badge ${eventTone(e.category)}`}>{e.category}</span>
            <span class="event-text">{eventSummary(e)}</span>
            <time class="muted small" dateTime={e.created_at} title={e.created_at}>
              {fmtTime(e.created_at)}
            </time>
          </li>
        ))}
      </ol>
      {events.data?.has_more && <p class="muted small">Showing the newest 100 events.</p>}
    </section>
  );
}
