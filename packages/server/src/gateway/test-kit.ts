import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type {
  AppLiveStats,
  Dispatcher,
  DispatchRequest,
  DispatchResult,
  LogBus,
  LogStore,
} from '@hangar/core';
import { Pool } from 'undici';

/**
 * A small FIFO `Dispatcher` for gateway tests and benchmarks: forwards every request over HTTP to one
 * fixed app server, publishes a log line per request, and can be paused to keep requests queued.
 */
export class InlineDispatcher implements Dispatcher {
  private readonly pool: Pool;
  private readonly queue: { req: DispatchRequest; resolve: (r: DispatchResult) => void }[] = [];
  private readonly running = new Map<string, DispatchRequest>();
  private paused = false;
  readonly cancelled: string[] = [];
  /** Every request dispatched, as the gateway handed it over. */
  readonly dispatched: DispatchRequest[] = [];

  constructor(
    readonly baseUrl: string,
    private readonly opts: { concurrency: number; logBus?: LogBus; logs?: LogStore; runnerId?: string },
  ) {
    this.pool = new Pool(baseUrl, { connections: opts.concurrency });
  }

  dispatch(req: DispatchRequest): Promise<DispatchResult> {
    this.dispatched.push(req);
    return new Promise((resolve) => {
      const low = req.priority === 'low';
      const at = low ? this.queue.length : this.queue.findIndex((q) => q.req.priority === 'low');
      this.queue.splice(at === -1 ? this.queue.length : at, 0, { req, resolve });
      this.pump();
    });
  }

  /** Holds queued requests until `resume()`. */
  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    this.pump();
  }

  private pump(): void {
    while (!this.paused && this.running.size < this.opts.concurrency && this.queue.length > 0) {
      const { req, resolve } = this.queue.shift()!;
      this.running.set(req.requestId, req);
      this.run(req).then((r) => {
        this.running.delete(req.requestId);
        resolve(r);
        this.pump();
      });
    }
  }

  private async run(req: DispatchRequest): Promise<DispatchResult> {
    const startedAt = Date.now();
    const runnerId = this.opts.runnerId ?? 'inline-runner';
    req.onStart?.({ runnerId, startedAt, coldStart: false, coldBootMs: null, attempt: 1 });
    this.log(req, `processing ${req.requestId}`);
    const base = { runnerId, startedAt, coldStart: false, coldBootMs: null, attempts: 1, cancelled: false };
    try {
      const res = await this.pool.request({
        path: req.path,
        method: req.method as 'POST',
        headers: { ...req.headers, 'x-fal-request-id': req.requestId, 'x-fal-endpoint': req.endpointId },
        body: req.method === 'GET' ? null : req.body,
        headersTimeout: req.timeoutMs,
      });
      const body = Buffer.from(await res.body.arrayBuffer());
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(res.headers)) if (typeof v === 'string') headers[k] = v;
      const units = headers['x-fal-billable-units'];
      return {
        ...base,
        statusCode: res.statusCode,
        headers,
        body,
        endedAt: Date.now(),
        billableUnits: units === undefined ? null : Number(units),
        errorClass: null,
      };
    } catch (err) {
      const timeout = (err as { code?: string }).code === 'UND_ERR_HEADERS_TIMEOUT';
      return {
        ...base,
        statusCode: timeout ? 504 : 502,
        headers: {},
        body: Buffer.alloc(0),
        endedAt: Date.now(),
        billableUnits: null,
        errorClass: timeout ? 'timeout' : 'connection',
      };
    }
  }

  private log(req: DispatchRequest, message: string): void {
    const line = {
      ts: Date.now(),
      owner: req.owner,
      app: req.app,
      revision: 'rev-1',
      level: 'info',
      message,
      labels: { fal_request_id: req.requestId, fal_endpoint: req.endpointId, source: 'stdout' },
    };
    this.opts.logs?.append([line]);
    this.opts.logBus?.publish([line]);
  }

  cancelQueued(requestId: string): boolean {
    const at = this.queue.findIndex((q) => q.req.requestId === requestId);
    if (at === -1) return false;
    const [{ req, resolve }] = this.queue.splice(at, 1) as [(typeof this.queue)[number]];
    resolve({
      statusCode: 499,
      headers: {},
      body: Buffer.alloc(0),
      runnerId: null,
      startedAt: null,
      endedAt: Date.now(),
      coldStart: false,
      coldBootMs: null,
      billableUnits: 0,
      errorClass: null,
      attempts: 0,
      cancelled: true,
    });
    void req;
    return true;
  }

  async cancelRunning(requestId: string): Promise<boolean> {
    const req = this.running.get(requestId);
    if (!req) return false;
    this.cancelled.push(requestId);
    const path = `${req.path.split('?')[0]!.replace(/\/$/, '')}/cancel`;
    await this.pool.request({ path, method: 'POST', headers: { 'x-fal-request-id': requestId } }).then(
      (r) => r.body.dump(),
      () => undefined,
    );
    return true;
  }

  flushQueue(): string[] {
    const ids = this.queue.map((q) => q.req.requestId);
    for (const id of ids) this.cancelQueued(id);
    return ids;
  }

  queuePosition(requestId: string): number | null {
    const at = this.queue.findIndex((q) => q.req.requestId === requestId);
    return at === -1 ? null : at;
  }

  /** Queued and running requests per app (no runner figures: there is one fixed app server). */
  stats(owner?: string): AppLiveStats[] {
    const apps = new Map<string, AppLiveStats>();
    const entry = (req: DispatchRequest) => {
      const key = `${req.owner}/${req.app}`;
      let s = apps.get(key);
      if (!s) {
        s = {
          owner: req.owner,
          app: req.app,
          machineType: 'inline',
          queueSize: 0,
          inFlight: 0,
          runners: {} as AppLiveStats['runners'],
        };
        apps.set(key, s);
      }
      return s;
    };
    for (const { req } of this.queue) if (owner === undefined || req.owner === owner) entry(req).queueSize++;
    for (const req of this.running.values())
      if (owner === undefined || req.owner === owner) entry(req).inFlight++;
    return [...apps.values()];
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}

/**
 * A running inline app server: echoes JSON input, honours `sleep_ms`, `status` and `fail`, sets the
 * response headers in `set_headers`, and with `echo_headers` echoes the request headers it received.
 */
export interface EchoApp {
  url: string;
  server: Server;
  /** Request ids the app was told to cancel. */
  cancels: string[];
  close(): Promise<void>;
}

/** Starts the echo app on a free 127.0.0.1 port. */
export async function startEchoApp(): Promise<EchoApp> {
  const cancels: string[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const id = String(req.headers['x-fal-request-id'] ?? '');
      if (req.url?.split('?')[0]?.endsWith('/cancel')) {
        cancels.push(id);
        res.end();
        return;
      }
      const raw = Buffer.concat(chunks).toString('utf8');
      let input: Record<string, unknown> = {};
      try {
        input = raw ? (JSON.parse(raw) as Record<string, unknown>) : {};
      } catch {
        input = { raw };
      }
      const answer = () => {
        const status = Number(input['status'] ?? (input['fail'] ? 500 : 200));
        const body = JSON.stringify({
          echo: input,
          path: req.url,
          method: req.method,
          request_id: id,
          endpoint: req.headers['x-fal-endpoint'],
          ...(input['echo_headers'] ? { headers: req.headers } : {}),
        });
        const headers: Record<string, string> = { 'content-type': 'application/json', 'x-app-header': 'yes' };
        if (input['units'] !== undefined) headers['x-fal-billable-units'] = String(input['units']);
        Object.assign(headers, input['set_headers'] ?? {});
        res.writeHead(status, headers);
        res.end(body);
      };
      const sleep = Number(input['sleep_ms'] ?? 0);
      if (sleep > 0) setTimeout(answer, sleep);
      else answer();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    server,
    cancels,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
