import type { AppManifest, LogFilter, LogLine, RequestRecord, Revision, RunnerRow } from '@hangar/core';

// Builders of domain rows for the store contract suite and other tests.

/** A complete app manifest with defaults. */
export function manifestFixture(name: string, over: Partial<AppManifest> = {}): AppManifest {
  return {
    name,
    command: ['python', 'app.py'],
    machine_type: 'GPU-H100',
    environment: 'main',
    auth_mode: 'private',
    keep_alive: 10,
    min_concurrency: 0,
    max_concurrency: 2,
    max_multiplexing: 1,
    request_timeout: 60,
    startup_timeout: 30,
    health_path: '/health',
    routes: ['/'],
    env: {},
    ...over,
  };
}

/** A revision of `owner/app` created at `createdAt`. */
export function revisionFixture(
  revisionId: string,
  owner: string,
  app: string,
  createdAt: number,
  over: Partial<Revision> = {},
): Revision {
  return {
    revisionId,
    owner,
    app,
    createdAt,
    message: null,
    annotations: null,
    status: 'deployed',
    deployedBy: null,
    manifest: manifestFixture(app),
    bundle: null,
    dir: `/apps/${owner}/${app}/${revisionId}`,
    ...over,
  };
}

/** A freshly accepted queue request. */
export function requestFixture(requestId: string, over: Partial<RequestRecord> = {}): RequestRecord {
  return {
    requestId,
    owner: 'acme',
    app: 'echo',
    endpointId: 'acme/echo',
    callerKeyId: 'k1',
    method: 'POST',
    mode: 'queue',
    status: 'IN_QUEUE',
    cancelled: false,
    priority: 'normal',
    sentAt: 1_000,
    startedAt: null,
    endedAt: null,
    statusCode: null,
    prepareMs: null,
    durationMs: null,
    runnerId: null,
    coldStart: false,
    coldBootMs: null,
    billableUnits: null,
    errorClass: null,
    attempts: 0,
    storeIo: true,
    jsonInput: { prompt: 'hi' },
    jsonOutput: null,
    timeoutS: null,
    webhookUrl: null,
    ...over,
  };
}

/** A log line of `requestId` (labels include the request id and source). */
export function logFixture(requestId: string, message: string, ts = 1_000): LogLine {
  return {
    ts,
    owner: 'acme',
    app: 'echo',
    revision: 'rev1',
    level: 'info',
    message,
    labels: { fal_request_id: requestId, fal_job_id: 'run1', fal_endpoint: 'acme/echo', source: 'stdout' },
  };
}

/** A log filter of `acme` that narrows nothing but the window `[start, end)`, with `over` on top. */
export function logFilterFixture(start: number, end: number, over: Partial<LogFilter> = {}): LogFilter {
  return {
    owner: 'acme',
    start,
    end,
    apps: null,
    revision: null,
    runSource: null,
    traceback: true,
    search: null,
    levels: null,
    jobId: null,
    requestId: null,
    labels: [],
    ...over,
  };
}

/** A live runner row. */
export function runnerFixture(runnerId: string, over: Partial<RunnerRow> = {}): RunnerRow {
  return {
    runnerId,
    owner: 'acme',
    app: 'echo',
    revisionId: 'rev1',
    machineType: 'GPU-H100',
    ref: '4242',
    state: 'idle',
    startedAt: 1_000,
    endedAt: null,
    meteredUntil: 1_000,
    stateSince: 1_200,
    times: {
      seconds: { pending: 0.05, setup: 0.15 },
      timeline: [
        { state: 'pending', at: 1_000 },
        { state: 'setup', at: 1_050 },
        { state: 'idle', at: 1_200 },
      ],
    },
    ...over,
  };
}
