import type { LiveRunnerInfo } from '@hangar/client';
import { useState } from 'preact/hooks';
import { fmtDuration, fmtTime, shortId } from '../lib/format';
import { useAsync } from '../lib/hooks';
import { useSession } from '../lib/session';
import { Empty, ErrorBox, Loading } from './ui';

/** The live runners of an app with their state and the time in it; a click shows a runner's timeline. */
export function RunnerList({ appId, pollMs }: { appId: string; pollMs: number }) {
  const { client } = useSession();
  const list = useAsync(() => client.apps.runners(appId), [client, appId], pollMs);
  const [open, setOpen] = useState<string | null>(null);
  return (
    <div>
      {list.error ? <ErrorBox error={list.error} onRetry={list.reload} /> : null}
      {!list.data && !list.error && <Loading />}
      {list.data?.runners.length === 0 && <Empty>No live runner.</Empty>}
      {list.data && list.data.runners.length > 0 && (
        <div class="table-wrap">
          <table class="table" aria-label="Live runners">
            <thead>
              <tr>
                <th>Runner</th>
                <th>State</th>
                <th>In state</th>
                <th>In flight</th>
                <th>Started</th>
              </tr>
            </thead>
            <tbody>
              {list.data.runners.map((r) => (
                <tr
                  key={r.runner_id}
                  class="clickable"
                  data-runner={r.runner_id}
                  onClick={() => setOpen(open === r.runner_id ? null : r.runner_id)}
                >
                  <td class="mono" title={r.runner_id}>
                    {shortId(r.runner_id)}
                  </td>
                  <td data-testid="runner-state">{r.stopping ? `${r.state} (stopping)` : r.state}</td>
                  <td>{fmtDuration(r.state_seconds)}</td>
                  <td>
                    {r.in_flight}/{r.max_multiplexing}
                  </td>
                  <td title={r.started_at}>{fmtTime(r.started_at)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {open && <RunnerTimeline appId={appId} runnerId={open} />}
    </div>
  );
}

/** One runner's lifecycle: each state entered, when, and how long it lasted; totals per state. */
function RunnerTimeline({ appId, runnerId }: { appId: string; runnerId: string }) {
  const { client } = useSession();
  const detail = useAsync(() => client.apps.runner(appId, runnerId), [client, appId, runnerId], 5_000);
  if (detail.error) return <ErrorBox error={detail.error} onRetry={detail.reload} />;
  if (!detail.data) return <Loading />;
  const r: LiveRunnerInfo = detail.data.runner;
  const until = (i: number) => r.timeline[i + 1]?.at ?? (r.ended_at ? r.ended_at : null);
  return (
    <div class="runner-timeline">
      <h3>
        Runner <span class="mono">{shortId(r.runner_id)}</span>: {r.state}
      </h3>
      <ol aria-label="Runner timeline">
        {r.timeline.map((t, i) => {
          const end = until(i);
          const lasted = end === null ? r.state_seconds : (Date.parse(end) - Date.parse(t.at)) / 1000;
          return (
            <li key={`${t.state}-${t.at}`} data-state={t.state}>
              <b>{t.state}</b> {fmtTime(t.at)} · {t.state === 'terminated' ? 'final' : fmtDuration(lasted)}
            </li>
          );
        })}
      </ol>
      <dl class="settings" aria-label="Time in each state">
        {Object.entries(r.time_in_states).map(([state, s]) => (
          <div key={state}>
            <dt>{state}</dt>
            <dd>{fmtDuration(s)}</dd>
          </div>
        ))}
      </dl>
    </div>
  );
}
