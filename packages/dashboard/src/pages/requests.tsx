import type { ServerlessRequestItem } from '@hangar/client';
import { useState } from 'preact/hooks';
import { RangePicker, type RangeValue, resolveRange } from '../components/range-picker';
import { RequestDetail } from '../components/request-detail';
import { CopyId, ShortId } from '../components/short-id';
import { Empty, ErrorBox, Field, Loading, PageHeader, Select, StatusBadge } from '../components/ui';
import { endpointChoices, useApps } from '../lib/apps';
import { fmtDuration, fmtNumber, fmtTime, secondsBetween, shortId } from '../lib/format';
import { useAsync } from '../lib/hooks';
import { setQuery, useLocation } from '../lib/router';
import { useSession } from '../lib/session';

type Status = '' | 'success' | 'error' | 'user_error';
const STATUSES = [
  { value: '' as Status, label: 'Any status' },
  { value: 'success' as Status, label: 'Success (2xx)' },
  { value: 'user_error' as Status, label: 'User error (4xx)' },
  { value: 'error' as Status, label: 'Error (5xx)' },
];

/** Recorded requests of the caller's endpoints, filterable, with payloads and a link to their logs. */
export function RequestsPage() {
  const { client } = useSession();
  const { query } = useLocation();
  const apps = useApps();
  const endpoint = query.get('endpoint') ?? '';
  const status = (query.get('status') ?? '') as Status;
  const sort = query.get('sort') === 'duration' ? 'duration' : 'ended_at';
  const range: RangeValue = {
    range: query.get('range') ?? '24h',
    from: query.get('from') ?? undefined,
    to: query.get('to') ?? undefined,
  };
  const [pages, setPages] = useState(1);
  const [open, setOpen] = useState<string | null>(null);
  const all = (apps.data ?? []).map((a) => a.endpoint_id).slice(0, 50);
  const ids = endpoint ? [endpoint] : all;

  const list = useAsync(async () => {
    if (ids.length === 0) return { items: [] as ServerlessRequestItem[], more: false };
    const { start, end } = resolveRange(range);
    const items: ServerlessRequestItem[] = [];
    let cursor: string | undefined;
    let more = false;
    for (let p = 0; p < pages; p++) {
      const page = await client.requests.byEndpoint({
        endpoint_id: ids,
        start,
        end,
        status: status || undefined,
        sort_by: sort,
        limit: 50,
        expand: 'billing',
        cursor,
      });
      items.push(...page.items);
      more = page.has_more;
      if (!page.has_more || !page.next_cursor) break;
      cursor = page.next_cursor;
    }
    return { items, more };
  }, [client, ids.join(','), status, sort, range.range, range.from, range.to, pages]);

  const set = (p: Record<string, string | undefined>) => {
    setPages(1);
    setQuery(p);
  };
  return (
    <div class="page">
      <PageHeader title="Requests" sub="Every request your endpoints served, from every caller." />
      <div class="filters">
        <Field label="Endpoint" grow>
          <Select
            name="endpoint"
            value={endpoint}
            onChange={(v) => set({ endpoint: v })}
            options={[{ value: '', label: 'All apps' }, ...endpointChoices(apps.data ?? [])]}
          />
        </Field>
        <Field label="Status">
          <Select name="status" value={status} onChange={(v) => set({ status: v })} options={STATUSES} />
        </Field>
        <RangePicker value={range} onChange={(v) => set({ range: v.range, from: v.from, to: v.to })} />
        <Field label="Sort by">
          <Select
            value={sort}
            onChange={(v) => set({ sort: v === 'duration' ? v : undefined })}
            options={[
              { value: 'ended_at', label: 'Newest' },
              { value: 'duration', label: 'Longest' },
            ]}
          />
        </Field>
        <button type="button" class="btn" onClick={list.reload}>
          Refresh
        </button>
      </div>
      {apps.error ? <ErrorBox error={apps.error} /> : null}
      {list.error ? <ErrorBox error={list.error} onRetry={list.reload} /> : null}
      {!list.data && !list.error && <Loading />}
      {list.data?.items.length === 0 && <Empty>No requests match these filters.</Empty>}
      {list.data && list.data.items.length > 0 && (
        <div class="table-wrap">
          <table class="table requests" aria-label="Requests">
            <thead>
              <tr>
                <th>Started</th>
                <th>Endpoint</th>
                <th>Request</th>
                <th>Status</th>
                <th class="num">Queued</th>
                <th class="num">Duration</th>
                <th class="num">Units</th>
                <th>Runner</th>
              </tr>
            </thead>
            <tbody>
              {list.data.items.map((r) => (
                <RequestRow
                  key={r.request_id}
                  r={r}
                  open={open === r.request_id}
                  onToggle={() => setOpen(open === r.request_id ? null : r.request_id)}
                />
              ))}
            </tbody>
          </table>
        </div>
      )}
      {list.data?.more && (
        <button type="button" class="btn more" onClick={() => setPages(pages + 1)} disabled={list.loading}>
          {list.loading ? 'Loading…' : 'Load more'}
        </button>
      )}
    </div>
  );
}

function RequestRow({
  r,
  open,
  onToggle,
}: {
  r: ServerlessRequestItem;
  open: boolean;
  onToggle: () => void;
}) {
  return (
    <>
      <tr class={`clickable ${open ? 'open' : ''}`} onClick={onToggle} data-request={r.request_id}>
        <td title={r.started_at}>{fmtTime(r.started_at)}</td>
        <td class="mono">{r.endpoint_id}</td>
        <td class="mono id-cell">
          <button type="button" class="link" aria-expanded={open} title={r.request_id}>
            {shortId(r.request_id)}
          </button>
          <CopyId id={r.request_id} what="request id" />
        </td>
        <td>
          <StatusBadge code={r.status_code} />
        </td>
        <td class="num">{fmtDuration(secondsBetween(r.sent_at, r.started_at))}</td>
        <td class="num">{fmtDuration(r.duration)}</td>
        <td class="num">{r.billable_units === undefined ? '—' : fmtNumber(r.billable_units, 4)}</td>
        <td class="mono muted">
          <ShortId id={r.runner_id} />
        </td>
      </tr>
      {open && (
        <tr class="detail-row">
          <td colSpan={8}>
            <RequestDetail item={r} />
          </td>
        </tr>
      )}
    </>
  );
}
