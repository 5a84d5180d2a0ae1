import type { ServerlessRequestItem } from '@hangar/client';
import { fmtTime } from '../lib/format';
import { useAsync } from '../lib/hooks';
import { onLinkClick } from '../lib/router';
import { useSession } from '../lib/session';
import { ErrorBox, JsonView, Loading } from './ui';

/** One request's timeline and payloads, loaded when it is opened. */
export function RequestDetail({ item }: { item: ServerlessRequestItem }) {
  const { client } = useSession();
  const full = useAsync(async () => {
    const page = await client.requests.byEndpoint({
      endpoint_id: item.endpoint_id,
      request_id: item.request_id,
      expand: ['payloads', 'billing'],
      limit: 1,
    });
    return page.items[0] ?? null;
  }, [client, item.request_id]);
  const logsHref = `/logs?request=${encodeURIComponent(item.request_id)}&from=24h`;
  return (
    <div class="request-detail">
      <div class="request-meta">
        <span>
          id <code>{item.request_id}</code>
        </span>
        <span>sent {fmtTime(item.sent_at)}</span>
        <span>started {fmtTime(item.started_at)}</span>
        <span>ended {fmtTime(item.ended_at)}</span>
        <a href={logsHref} onClick={onLinkClick} class="btn small">
          View logs →
        </a>
      </div>
      {full.error ? <ErrorBox error={full.error} onRetry={full.reload} /> : null}
      {!full.data && !full.error && <Loading />}
      {full.data && (
        <div class="payloads">
          <div>
            <h3>Input</h3>
            <JsonView value={full.data.json_input} />
          </div>
          <div>
            <h3>Output</h3>
            <JsonView value={full.data.json_output} />
          </div>
        </div>
      )}
      {full.data === null && <p class="muted">This request is no longer recorded.</p>}
    </div>
  );
}
