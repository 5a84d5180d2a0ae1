import { errorFromResponse, HangarApiError } from './errors.js';

/** Where and as whom to call a Hangar server. */
export interface ClientOptions {
  url: string;
  key?: string | undefined;
  fetch?: typeof fetch;
}

export type Query = Record<string, string | number | boolean | readonly string[] | undefined>;

export interface RequestOptions {
  query?: Query;
  body?: unknown;
  headers?: Record<string, string>;
  signal?: AbortSignal | undefined;
  /** Non-2xx statuses returned to the caller instead of thrown. */
  allowStatus?: readonly number[];
}

function isRawBody(body: unknown): boolean {
  return (
    typeof body === 'string' ||
    body instanceof FormData ||
    body instanceof ReadableStream ||
    body instanceof Blob ||
    body instanceof URLSearchParams ||
    ArrayBuffer.isView(body)
  );
}

/** The most telling message of a fetch failure (undici hides the socket error in `cause`). */
function causeOf(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (err as Error).message;
}

/** Low-level JSON transport shared by every resource of the client. */
export class HttpTransport {
  readonly baseUrl: string;
  readonly key: string | undefined;
  private readonly fetchImpl: typeof fetch;

  constructor(opts: ClientOptions) {
    this.baseUrl = opts.url.replace(/\/+$/, '');
    this.key = opts.key;
    // Bound: a browser's fetch throws "Illegal invocation" when called as a method of another object.
    this.fetchImpl = opts.fetch ?? ((input, init) => fetch(input, init));
  }

  /** Builds an absolute URL with query parameters (arrays repeated). */
  url(path: string, query?: Query): string {
    const u = new URL(this.baseUrl + path);
    for (const [k, v] of Object.entries(query ?? {})) {
      if (v === undefined) continue;
      if (Array.isArray(v)) for (const item of v) u.searchParams.append(k, item);
      else u.searchParams.set(k, String(v));
    }
    return u.toString();
  }

  headers(extra?: Record<string, string>): Record<string, string> {
    const h: Record<string, string> = { accept: 'application/json', ...extra };
    if (this.key) h.authorization = `Key ${this.key}`;
    return h;
  }

  /** Sends a request and returns the raw response, throwing HangarApiError for non-2xx. */
  async raw(method: string, path: string, opts: RequestOptions = {}): Promise<Response> {
    const headers = this.headers(opts.headers);
    let body: RequestInit['body'];
    if (opts.body !== undefined) {
      if (isRawBody(opts.body)) {
        body = opts.body as RequestInit['body'];
      } else {
        headers['content-type'] = 'application/json';
        body = JSON.stringify(opts.body);
      }
    }
    let res: Response;
    try {
      res = await this.fetchImpl(this.url(path, opts.query), {
        method,
        headers,
        body,
        signal: opts.signal,
        duplex: body instanceof ReadableStream ? 'half' : undefined,
      } as RequestInit);
    } catch (err) {
      if (opts.signal?.aborted) throw err;
      throw new HangarApiError(0, 'connection_error', `Cannot reach ${this.baseUrl}: ${causeOf(err)}`);
    }
    if (!res.ok && !opts.allowStatus?.includes(res.status))
      throw errorFromResponse(res.status, await res.text());
    return res;
  }

  /** Sends a request and parses the JSON answer (undefined for 204). */
  async json<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    const res = await this.raw(method, path, opts);
    if (res.status === 204) return undefined as T;
    const text = await res.text();
    return (text ? JSON.parse(text) : undefined) as T;
  }
}
