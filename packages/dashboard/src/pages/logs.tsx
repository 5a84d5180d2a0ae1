import type { LogsQuery } from '@hangar/client';
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { CopyId } from '../components/short-id';
import { describeError, ErrorBox, Field, PageHeader, Select } from '../components/ui';
import { useApps } from '../lib/apps';
import { fmtClock, shortId } from '../lib/format';
import { useDebounced } from '../lib/hooks';
import { parseLabels } from '../lib/labels';
import { type TailLine, type TailStatus, useLogTail } from '../lib/log-tail';
import { setQuery, useLocation } from '../lib/router';
import { useSession } from '../lib/session';

const LEVELS = [
  { value: '', label: 'All levels' },
  { value: 'debug', label: 'Debug and up' },
  { value: 'info', label: 'Info and up' },
  { value: 'warn', label: 'Warn and up' },
  { value: 'error', label: 'Errors only' },
];

const BACKFILL = [
  { value: 'live', label: 'New lines only' },
  { value: '5m', label: 'From 5 min ago' },
  { value: '15m', label: 'From 15 min ago' },
  { value: '1h', label: 'From 1 hour ago' },
  { value: '24h', label: 'From 24 hours ago' },
];
const BACKFILL_SECONDS: Record<string, number> = { '5m': 300, '15m': 900, '1h': 3600, '24h': 86_400 };

/** The live tail: lines as they are written, filtered by level, app, request, labels and text. */
export function LogsPage() {
  const { client } = useSession();
  const { query } = useLocation();
  const apps = useApps();
  const app = query.get('app') ?? '';
  const request = query.get('request') ?? '';
  const level = query.get('level') ?? '';
  const from = query.get('from') ?? '15m';
  const [search, setSearch] = useState(query.get('q') ?? '');
  const [labelText, setLabelText] = useState(query.get('labels') ?? '');
  const debouncedSearch = useDebounced(search, 300);
  const debouncedLabels = useDebounced(labelText, 500);
  const [paused, setPaused] = useState(false);

  useEffect(
    () => setQuery({ q: debouncedSearch, labels: debouncedLabels }),
    [debouncedSearch, debouncedLabels],
  );

  // The backfill start is fixed when the filters change, not on every render.
  const logsQuery = useMemo<LogsQuery>(() => {
    const q: LogsQuery = {};
    if (app) q.app_id = app;
    if (request) q.request_id = request;
    if (level) q.level = level;
    if (debouncedSearch) q.search = debouncedSearch;
    const back = BACKFILL_SECONDS[from];
    if (back) q.start = new Date(Date.now() - back * 1000).toISOString();
    return q;
  }, [app, request, level, debouncedSearch, from]);
  const labels = useMemo(() => parseLabels(debouncedLabels), [debouncedLabels]);
  const tail = useLogTail(client, logsQuery, labels, paused);

  return (
    <div class="page logs-page">
      <PageHeader title="Logs" sub="Live tail of your apps' logs.">
        <TailBadge status={tail.status} />
        <button type="button" class="btn" onClick={() => setPaused(!paused)} aria-pressed={paused}>
          {paused ? `Resume${tail.held ? ` (${tail.held} new)` : ''}` : 'Pause'}
        </button>
        <button type="button" class="btn ghost" onClick={tail.clear}>
          Clear
        </button>
      </PageHeader>
      <div class="filters">
        <Field label="App">
          <Select
            name="app"
            value={app}
            onChange={(v) => setQuery({ app: v })}
            options={[{ value: '', label: 'All apps' }, ...(apps.data ?? []).map((a) => a.endpoint_id)]}
          />
        </Field>
        <Field label="Level">
          <Select name="level" value={level} onChange={(v) => setQuery({ level: v })} options={LEVELS} />
        </Field>
        <Field label="Request id">
          <input
            name="request"
            value={request}
            placeholder="any"
            onChange={(e) => setQuery({ request: e.currentTarget.value.trim() })}
          />
        </Field>
        <Field label="Labels">
          <input
            name="labels"
            value={labelText}
            placeholder="key=value, key!=value"
            onInput={(e) => setLabelText(e.currentTarget.value)}
          />
        </Field>
        <Field label="Search" grow>
          <input
            type="search"
            name="search"
            value={search}
            placeholder="Search messages"
            onInput={(e) => setSearch(e.currentTarget.value)}
          />
        </Field>
        <Field label="Start">
          <Select name="from" value={from} onChange={(v) => setQuery({ from: v })} options={BACKFILL} />
        </Field>
      </div>
      {tail.status.kind === 'error' && <ErrorBox error={tail.status.error} />}
      <LogList lines={tail.lines} onRequest={(id) => setQuery({ request: id })} />
    </div>
  );
}

function TailBadge({ status }: { status: TailStatus }) {
  const text =
    status.kind === 'reconnecting'
      ? `reconnecting (${status.attempt})`
      : status.kind === 'error'
        ? describeError(status.error).title
        : status.kind;
  return (
    <span class={`tail-status ${status.kind}`} data-status={status.kind} role="status">
      {text}
    </span>
  );
}

/** The request a line belongs to (Hangar labels runner output with `fal_request_id`). */
function requestOf(l: TailLine): string | undefined {
  return l.labels?.['fal_request_id'] ?? l.labels?.['request_id'];
}

function LogList({ lines, onRequest }: { lines: TailLine[]; onRequest: (id: string) => void }) {
  const box = useRef<HTMLDivElement>(null);
  const stick = useRef(true);
  useEffect(() => {
    const el = box.current;
    if (el && stick.current) el.scrollTop = el.scrollHeight;
  }, [lines]);
  const onScroll = () => {
    const el = box.current;
    if (el) stick.current = el.scrollHeight - el.scrollTop - el.clientHeight < 40;
  };
  return (
    <div class="log-box" ref={box} onScroll={onScroll} role="log" aria-live="off" data-lines={lines.length}>
      {lines.length === 0 && <div class="empty">Waiting for log lines…</div>}
      {lines.map((l) => {
        const request = requestOf(l);
        return (
          <div class={`log-line lvl-${l.level}`} key={l.key} data-request={request}>
            <time dateTime={l.timestamp} title={l.timestamp}>
              {fmtClock(l.timestamp)}
            </time>
            <span class="lvl">{l.level}</span>
            <span class="log-app">{l.app}</span>
            <span class="msg">{l.message}</span>
            {request && (
              <span class="chip-group">
                <button
                  type="button"
                  class="chip"
                  title={`${request}: show only this request`}
                  onClick={() => onRequest(request)}
                >
                  {shortId(request)}
                </button>
                <CopyId id={request} what="request id" />
              </span>
            )}
          </div>
        );
      })}
    </div>
  );
}
