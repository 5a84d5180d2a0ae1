import type { IncomingMessage } from 'node:http';
import { type FileStore, isOpened, PlatformError } from '@hangar/core';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { etagMatches, parseRange } from '../api/files/download.js';
import { type HttpApp, principalOf } from '../http/app.js';
import type { FalStorage, UploadCall } from './fal-storage.js';

/** What the storage routes serve from. */
export interface StorageRoutesDeps {
  storage: FalStorage;
  objects: FileStore;
}

/** Largest `complete` body: 10,000 parts with their etags. */
const COMPLETE_BODY_LIMIT = 1024 * 1024;

/**
 * fal's storage API as `@fal-ai/client` calls it: `POST /storage/upload/initiate[-multipart]` (with a
 * key), then the signed upload URL it answered (`PUT`, or `PUT …/{part}` and `POST …/complete`, no key
 * needed), and the `file_url`s (`GET|HEAD /files/{id}/{name}`, no key: whoever holds the URL may read).
 */
export function registerStorageRoutes(app: HttpApp, deps: StorageRoutesDeps): void {
  const { storage } = deps;
  const initiate = (multipart: boolean) => async (request: FastifyRequest) => {
    const { owner } = principalOf(request);
    const lifecycle = request.headers['x-fal-object-lifecycle'];
    return storage.initiate(
      owner,
      request.body,
      Array.isArray(lifecycle) ? lifecycle[0] : lifecycle,
      multipart,
    );
  };
  app.post('/storage/upload/initiate', { config: { auth: 'api' } }, initiate(false));
  app.post('/storage/upload/initiate-multipart', { config: { auth: 'api' } }, initiate(true));

  app.register(async (scoped) => {
    const routes = scoped as unknown as HttpApp;
    // Upload bodies stay streams: they are counted and written as they arrive, never buffered whole.
    routes.removeAllContentTypeParsers();
    routes.addContentTypeParser('*', (_req, payload, done) => done(null, payload));
    const config = { auth: 'optional' as const };

    routes.put('/storage/upload/:id', { config }, async (request, reply) => {
      await storage.putObject(uploadCall(request), bodyOf(request), declared(request));
      return reply.status(200).send({ ok: true });
    });
    routes.put('/storage/upload/:id/:part', { config }, async (request) => {
      const { part } = request.params as { part: string };
      const n = /^\d{1,5}$/.test(part) ? Number(part) : Number.NaN;
      return storage.putPart(uploadCall(request), n, bodyOf(request), declared(request));
    });
    routes.post('/storage/upload/:id/complete', { config }, async (request) => {
      return storage.complete(uploadCall(request), await readJson(bodyOf(request)));
    });
  });

  app.route({
    method: ['GET', 'HEAD'],
    url: FILE_ROUTE,
    config: { auth: 'none' },
    handler: objectServer(deps),
  });
}

/** Where a `file_url` points (also the only route of the runners' file host). */
export const FILE_ROUTE = '/files/:id/:name';

/** `GET|HEAD /files/{id}/{name}`: the object with its type, length, ETag, and a single byte range. */
export function objectServer(deps: StorageRoutesDeps) {
  const { storage } = deps;
  return async (request: FastifyRequest, reply: FastifyReply) => {
    const { id, name } = request.params as { id: string; name: string };
    const info = await storage.find(id, name);
    const etag = `"${info.etag}"`;
    reply.header('etag', etag);
    reply.header('accept-ranges', 'bytes');
    reply.header('content-type', info.meta['content_type'] || 'application/octet-stream');
    // Objects are served from the dashboard's origin: never sniffed, never run as a page of that origin.
    reply.header('x-content-type-options', 'nosniff');
    reply.header('content-security-policy', "sandbox; default-src 'none'");
    reply.header('cache-control', 'private, max-age=0, must-revalidate');
    if (etagMatches(request.headers['if-none-match'], etag)) return reply.status(304).send();
    const range = parseRange(request.headers.range, info.bytes);
    const length = range ? range.end - range.start + 1 : info.bytes;
    reply.header('content-length', String(length));
    if (range) reply.status(206).header('content-range', `bytes ${range.start}-${range.end}/${info.bytes}`);
    if (request.method === 'HEAD') return reply.send();
    const opened = await deps.objects.open(info.key, { range: range ?? undefined, ifMatch: info.etag });
    if (!isOpened(opened)) throw new PlatformError('STORAGE_OBJECT_NOT_FOUND');
    return reply.send(opened.body);
  };
}

function uploadCall(request: FastifyRequest): UploadCall {
  const { id } = request.params as { id: string };
  const { token } = request.query as { token?: string };
  return { id, token, caller: request.principal?.owner ?? null };
}

function bodyOf(request: FastifyRequest): AsyncIterable<Uint8Array> {
  const body = request.body as IncomingMessage | undefined;
  return body && typeof (body as { pipe?: unknown }).pipe === 'function' ? body : emptyBody();
}

async function* emptyBody(): AsyncIterable<Uint8Array> {}

function declared(request: FastifyRequest): number | null {
  const length = request.headers['content-length'];
  return length === undefined || !/^\d+$/.test(length) ? null : Number(length);
}

async function readJson(body: AsyncIterable<Uint8Array>): Promise<unknown> {
  const chunks: Buffer[] = [];
  let bytes = 0;
  for await (const chunk of body) {
    bytes += chunk.byteLength;
    if (bytes > COMPLETE_BODY_LIMIT) throw new PlatformError('REQUEST_TOO_LARGE');
    chunks.push(Buffer.from(chunk));
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new PlatformError('REQUEST_BAD_JSON');
  }
}
