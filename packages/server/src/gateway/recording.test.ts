import { type DispatchResult, JsonText, type RequestRecord } from '@hangar/core';
import { describe, expect, it } from 'vitest';
import { LiveRequests } from './live.js';
import { mapProxyTarget } from './proxy.js';
import { CANCELLED_STATUS, completionPatch, responseOf } from './recording.js';
import { queueUrls, statusBody } from './status-body.js';

const rec = (over: Partial<RequestRecord> = {}): RequestRecord => ({
  requestId: 'r1',
  owner: 'alice',
  app: 'echo',
  endpointId: 'alice/echo',
  callerKeyId: 'k1',
  method: 'POST',
  mode: 'queue',
  status: 'IN_PROGRESS',
  cancelled: false,
  priority: 'normal',
  sentAt: 1_000,
  startedAt: 1_500,
  endedAt: null,
  statusCode: null,
  prepareMs: 500,
  durationMs: null,
  runnerId: 'run-1',
  coldStart: false,
  coldBootMs: null,
  billableUnits: null,
  errorClass: null,
  attempts: 1,
  storeIo: true,
  jsonInput: null,
  jsonOutput: null,
  timeoutS: 60,
  webhookUrl: null,
  ...over,
});

const result = (over: Partial<DispatchResult> = {}): DispatchResult => ({
  statusCode: 200,
  headers: { 'content-type': 'application/json' },
  body: Buffer.from('{"ok":true}'),
  runnerId: 'run-1',
  startedAt: 1_500,
  endedAt: 4_000,
  coldStart: false,
  coldBootMs: null,
  billableUnits: null,
  errorClass: null,
  attempts: 1,
  cancelled: false,
  ...over,
});

describe('completion recording', () => {
  it('falls back to execution seconds for billable units and keeps valid JSON output as its text', () => {
    const r = result();
    const patch = completionPatch(rec(), r, responseOf(r), 1024, 0);
    expect(patch).toMatchObject({
      status: 'COMPLETED',
      durationMs: 2500,
      billableUnits: 2.5,
      statusCode: 200,
    });
    expect(patch.jsonOutput).toEqual(new JsonText('{"ok":true}'));
    expect(JSON.parse(JSON.stringify(patch.jsonOutput))).toEqual({ ok: true });
    expect(patch.errorClass).toBeNull();
  });

  it('records no JSON output for a body that does not parse', () => {
    const r = result({ body: Buffer.from('{"ok":') });
    expect(completionPatch(rec(), r, responseOf(r), 1024, 0).jsonOutput).toBeNull();
  });

  it('keeps the app header, caps large output and classifies 5xx as runtime errors', () => {
    const r = result({ statusCode: 500, billableUnits: 7, body: Buffer.from(`{"x":"${'y'.repeat(100)}"}`) });
    const patch = completionPatch(rec(), r, responseOf(r), 50, 2);
    expect(patch).toMatchObject({ billableUnits: 7, errorClass: 'runtime', attempts: 3 });
    expect(patch.jsonOutput).toEqual({ truncated: true, size: r.body.length });
  });

  it('records cancelled and never-started requests with zero units and a fal-shaped answer', () => {
    const cancelled = result({ cancelled: true, startedAt: null, runnerId: null });
    const patch = completionPatch(rec({ startedAt: null }), cancelled, responseOf(cancelled), 1024, 0);
    expect(patch).toMatchObject({
      cancelled: true,
      statusCode: CANCELLED_STATUS,
      billableUnits: 0,
      durationMs: null,
    });
    const gone = responseOf(cancelled);
    expect(JSON.parse(gone.body.toString())).toEqual({
      detail: 'Request was cancelled',
      error_type: 'client_cancelled',
    });
    expect(gone.headers).toEqual({
      'x-fal-error-type': 'client_cancelled',
      'x-hangar-error-code': 'REQUEST_CANCELLED',
    });
    const timeout = result({ statusCode: 504, errorClass: 'timeout', body: Buffer.alloc(0), headers: {} });
    const answer = responseOf(timeout);
    expect(JSON.parse(answer.body.toString())).toEqual({
      detail: 'The request timed out',
      error_type: 'request_timeout',
    });
    expect(answer.headers).toMatchObject({ 'x-fal-error-type': 'request_timeout' });
  });

  it("returns the platform's headers with the answer: runner, billing units, error and timeout types", () => {
    const r = result({
      runnerId: 'run-7',
      headers: {
        'content-type': 'application/json',
        'x-fal-billable-units': '3',
        'x-fal-request-timeout-type': 'user',
        'x-app-own': 'kept on /run only',
      },
    });
    expect(responseOf(r).headers).toEqual({
      'x-fal-served-from': 'run-7',
      'x-fal-billable-units': '3',
      'x-fal-request-timeout-type': 'user',
    });
    expect(responseOf(result({ runnerId: null, headers: {} })).headers).toBeUndefined();
  });
});

describe('status bodies', () => {
  const urls = queueUrls('http://h', 'alice', 'echo', 'r1');
  it('follows fal: queue_position while queued, logs key once started, metrics and error when done', () => {
    expect(statusBody(rec({ status: 'IN_QUEUE' }), urls, 3, null)).toEqual({
      status: 'IN_QUEUE',
      ...urls,
      queue_position: 3,
    });
    expect(statusBody(rec(), urls, 0, null)).toHaveProperty('logs', null);
    const done = statusBody(rec({ status: 'COMPLETED', statusCode: 503, durationMs: 1250 }), urls, 0, []);
    expect(done).toMatchObject({
      metrics: { inference_time: 1.25 },
      error: 'Invalid status code: 503',
      error_type: 'runner_server_error',
    });
    expect(urls.status_url).toBe('http://h/queue/alice/echo/requests/r1/status');
  });
});

describe('proxy targets', () => {
  it('maps fal hosts and this server, refuses anything else', () => {
    expect(mapProxyTarget('https://queue.fal.run/a/b/c?x=1', 'POST', 'http://127.0.0.1:9')).toEqual({
      gateway: { kind: 'queue', method: 'POST', path: 'a/b/c', search: 'x=1' },
    });
    expect(mapProxyTarget('https://fal.run/a/b', 'POST', 'http://h:1')).toMatchObject({
      gateway: { kind: 'run' },
    });
    expect(mapProxyTarget('https://rest.fal.ai/storage/upload', 'POST', 'http://h:1')).toEqual({
      local: '/storage/upload',
    });
    expect(mapProxyTarget('http://h:1/run/a/b', 'GET', 'http://h:1')).toMatchObject({
      gateway: { kind: 'run' },
    });
    for (const bad of ['https://fal.run.evil.com/a/b', 'https://evil.fal.run/a', 'http://h:2/run/a/b']) {
      expect(() => mapProxyTarget(bad, 'POST', 'http://h:1')).toThrow(/x-fal-target-url/);
    }
  });
});

describe('live requests', () => {
  it('keeps finished requests for the grace period only, and attaches log lines by request id', () => {
    const live = new LiveRequests(1_000);
    const entry = live.add(rec(), 'alice');
    let changes = 0;
    entry.listeners.add(() => changes++);
    live.attachLogs([
      {
        ts: 1,
        owner: 'alice',
        app: 'echo',
        revision: 'x',
        level: 'info',
        message: 'a',
        labels: { fal_request_id: 'r1' },
      },
      { ts: 2, owner: 'alice', app: 'echo', revision: 'x', level: 'info', message: 'b', labels: {} },
    ]);
    expect(entry.logs.map((l) => l.message)).toEqual(['a']);
    expect(changes).toBe(1);
    live.finish(entry, null, 10_000);
    live.sweep(10_500);
    expect(live.get('r1')).toBe(entry);
    live.sweep(11_001);
    expect(live.get('r1')).toBeUndefined();
  });
});
