import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { Principal } from '@hangar/core';

/**
 * The fast lane: the gateway's hot calls served straight from node:http, without building Fastify's
 * request and reply objects, running hooks or routing. It takes only requests it can serve exactly as
 * the Fastify routes would (a key already verified or none, a declared body within the limit, a plain
 * path); anything else — a first or bad key, any key from an address that failed authentication lately,
 * chunked or oversized bodies, percent-encoded or long URLs, shutdown — falls through to Fastify, which
 * stays the one place those rules are implemented.
 */

/** What a lane handler reads from a request. */
export interface LaneRequest {
  method: string;
  /** Path and query as received. */
  url: string;
  headers: IncomingHttpHeaders;
  /** The socket's remote address, as Fastify's `request.ip` reads it. */
  ip: string;
  body: Buffer;
  principal: Principal | null;
}

/** The reply methods gateway handlers use, implemented over node:http with Fastify's defaults. */
export interface LaneReplyLike {
  code(status: number): LaneReplyLike;
  header(name: string, value: string | number | readonly string[]): LaneReplyLike;
  send(payload?: unknown): LaneReplyLike;
  hijack(): void;
  readonly raw: ServerResponse;
}

/** One lane: which requests it may take (decided before the body is read) and how it serves them. */
export interface FastLane {
  accepts(method: string, url: string): boolean;
  handle(request: LaneRequest, reply: LaneReplyLike): Promise<void>;
  /** Answers an error `handle` threw, when the lane's surface has its own error shape (else the app's). */
  errorReply?(err: unknown, reply: LaneReply): void;
}

/** What the HTTP app gives the lanes: its key cache, body limit and error mapping. */
export interface LaneEnv {
  /**
   * The principal of an already verified key; null when it must go the slow way (also whenever the
   * client address has failed authentication lately, so throttling is decided in one place).
   */
  cachedPrincipal(header: string, address: string): Principal | null;
  bodyLimit: number;
  isOpen(): boolean;
  /** Maps a thrown error to the status, headers and fal envelope Fastify's error handler would send. */
  errorReply(err: unknown, reply: LaneReply): void;
}

/** URLs longer than this (long query strings) go through Fastify's router and its limits. */
const MAX_LANE_URL = 512;
const EMPTY = Buffer.alloc(0);

/** Tries each lane; true when one took the request (the caller then leaves it alone). */
export function serveFastLane(
  lanes: readonly FastLane[],
  env: LaneEnv,
  req: IncomingMessage,
  res: ServerResponse,
): boolean {
  const url = req.url ?? '';
  const method = req.method ?? '';
  if (lanes.length === 0 || url.length > MAX_LANE_URL || url.includes('%') || !env.isOpen()) return false;
  const lane = lanes.find((l) => l.accepts(method, url));
  if (!lane) return false;
  const headers = req.headers;
  const auth = headers.authorization;
  const ip = req.socket.remoteAddress ?? '';
  let principal: Principal | null = null;
  if (auth !== undefined) {
    principal = env.cachedPrincipal(auth, ip);
    if (!principal) return false;
  }
  if (headers['transfer-encoding'] !== undefined) return false;
  const length = headers['content-length'];
  // Fastify reads no body for GET; a POST or PUT without a declared length is left to it too.
  if (method === 'GET' ? length !== undefined && length !== '0' : length === undefined) return false;
  if (length === undefined || length === '0') {
    run(lane, env, { method, url, headers, ip, body: EMPTY, principal }, res);
    return true;
  }
  if (headers['content-type'] === undefined || !(Number(length) <= env.bodyLimit)) return false;
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
    run(lane, env, { method, url, headers, ip, body, principal }, res);
  });
  return true;
}

function run(lane: FastLane, env: LaneEnv, request: LaneRequest, res: ServerResponse): void {
  const reply = new LaneReply(res);
  lane.handle(request, reply).then(
    () => reply.ensureSent(),
    (err: unknown) => {
      if (reply.done) {
        res.destroy();
        return;
      }
      if (lane.errorReply) lane.errorReply(err, reply);
      else env.errorReply(err, reply);
    },
  );
}

/** A reply written with one `writeHead` + `end`, with Fastify's content types and lowercase names. */
export class LaneReply implements LaneReplyLike {
  private status = 200;
  private readonly headers: Record<string, string | number | readonly string[]> = {};
  /** Sent or hijacked: nothing more may be written through this reply. */
  done = false;

  constructor(readonly raw: ServerResponse) {}

  code(status: number): this {
    this.status = status;
    return this;
  }

  header(name: string, value: string | number | readonly string[]): this {
    this.headers[name.toLowerCase()] = value;
    return this;
  }

  headersFrom(values: Record<string, string>): this {
    for (const name in values) this.header(name, values[name]!);
    return this;
  }

  hijack(): void {
    this.done = true;
  }

  send(payload?: unknown): this {
    if (this.done) return this;
    this.done = true;
    let body: Buffer | string;
    let type: string | undefined;
    if (Buffer.isBuffer(payload)) {
      body = payload;
      type = 'application/octet-stream';
    } else if (typeof payload === 'string') {
      body = payload;
      type = 'text/plain; charset=utf-8';
    } else if (payload === undefined) {
      body = '';
    } else {
      body = JSON.stringify(payload);
      type = 'application/json; charset=utf-8';
    }
    const headers = this.headers;
    if (type !== undefined && headers['content-type'] === undefined) headers['content-type'] = type;
    headers['content-length'] = typeof body === 'string' ? Buffer.byteLength(body) : body.length;
    this.raw.writeHead(this.status, headers as Record<string, string | number | string[]>);
    this.raw.end(body);
    return this;
  }

  /** A handler that returned without answering: an empty 200, as Fastify answers a bare `reply.send()`. */
  ensureSent(): void {
    if (!this.done) this.send();
  }
}
