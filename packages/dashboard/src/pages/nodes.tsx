import type { NodeInfo } from '@hangar/client';
import { Empty, ErrorBox, Loading, PageHeader } from '../components/ui';
import { fmtDuration, fmtTime, shortId } from '../lib/format';
import { useAsync } from '../lib/hooks';
import { useSession } from '../lib/session';

/** How often the page asks again: about a heartbeat's period, so a dead or new node shows quickly. */
const POLL_MS = 2_000;

const TONE: Record<NodeInfo['status'], string> = { alive: 'ok', late: 'warn', draining: 'warn', dead: 'bad' };

/** The cluster's nodes (the operator's view): status, leader, heartbeats, capacity and runners, live. */
export function NodesPage() {
  const { client } = useSession();
  const view = useAsync(() => client.nodes.list(), [client], POLL_MS);
  const v = view.data;
  return (
    <div class="page">
      <PageHeader
        title="Nodes"
        sub={
          v
            ? `${v.mode === 'cluster' ? 'Cluster' : 'Embedded'} · updated every ${POLL_MS / 1000} s`
            : undefined
        }
      />
      {view.error ? <ErrorBox error={view.error} onRetry={view.reload} /> : null}
      {!v && !view.error && <Loading />}
      {v && (
        <p class="muted">
          Leader <b data-testid="leader">{v.leader?.node_id ?? 'none'}</b> · {v.nodes.length} node
          {v.nodes.length === 1 ? '' : 's'} · {v.nodes.filter((n) => n.status === 'alive').length} alive ·{' '}
          {v.nodes.reduce((a, n) => a + n.runner_count, 0)} runners
        </p>
      )}
      {v?.nodes.length === 0 && <Empty>No node has sent a heartbeat yet.</Empty>}
      {v && v.nodes.length > 0 && (
        <div class="table-wrap">
          <table class="table" aria-label="Nodes">
            <thead>
              <tr>
                <th>Node</th>
                <th>Status</th>
                <th>Heartbeat</th>
                <th>Runners / slots</th>
                <th>GPUs free</th>
                <th>Machine types</th>
                <th>Version</th>
                <th>Started</th>
              </tr>
            </thead>
            <tbody>
              {v.nodes.map((n) => (
                <tr key={n.node_id} data-node={n.node_id}>
                  <td>
                    <span class="mono" title={n.url}>
                      {n.node_id}
                    </span>
                    {n.is_leader && <span class="tag">leader</span>}
                  </td>
                  <td>
                    <span class={`badge ${TONE[n.status]}`} data-testid="node-status">
                      {n.status}
                    </span>
                  </td>
                  <td title={n.last_heartbeat}>{fmtDuration(n.heartbeat_age_ms / 1000)} ago</td>
                  <td>
                    {n.runner_count} / {n.capacity.runner_slots}
                  </td>
                  <td>{n.capacity.gpus > 0 ? `${n.capacity.free_gpus} / ${n.capacity.gpus}` : '–'}</td>
                  <td>{n.capacity.machine_types.join(', ')}</td>
                  <td>{n.version}</td>
                  <td title={n.started_at}>{fmtTime(n.started_at)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {v?.nodes
        .filter((n) => n.runners.length > 0)
        .map((n) => (
          <section key={n.node_id}>
            <h2>
              Runners on <span class="mono">{n.node_id}</span>
            </h2>
            <div class="table-wrap">
              <table class="table" aria-label={`Runners on ${n.node_id}`}>
                <thead>
                  <tr>
                    <th>Runner</th>
                    <th>App</th>
                    <th>Machine type</th>
                    <th>State</th>
                    <th>Started</th>
                  </tr>
                </thead>
                <tbody>
                  {n.runners.map((r) => (
                    <tr key={r.runner_id}>
                      <td class="mono" title={r.runner_id}>
                        {shortId(r.runner_id)}
                      </td>
                      <td>
                        {r.owner}/{r.app}
                      </td>
                      <td>{r.machine_type}</td>
                      <td>{r.state}</td>
                      <td title={r.started_at}>{fmtTime(r.started_at)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          </section>
        ))}
    </div>
  );
}
