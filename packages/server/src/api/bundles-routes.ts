import type { IncomingMessage } from 'node:http';
import { BUNDLE_DIGEST_PATTERN, PlatformError } from '@hangar/core';
import { Type } from 'typebox';
import type { BundleStore } from '../bundles/bundle-store.js';
import { type HttpApp, principalOf } from '../http/app.js';

/** Dependencies of the bundle routes. */
export interface BundleRoutesDeps {
  bundles: BundleStore;
}

/** Media types a bundle upload may be sent as; the body is always a gzip'd tar. */
const BUNDLE_MEDIA_TYPES = ['application/gzip', 'application/x-gzip', 'application/octet-stream'];

const BundleInfo = Type.Object({
  bundle: Type.String({ pattern: BUNDLE_DIGEST_PATTERN }),
  size: Type.Integer({ description: 'Compressed size in bytes' }),
  created_at: Type.String({ format: 'date-time' }),
});

const DigestParams = Type.Object({ digest: Type.String({ pattern: BUNDLE_DIGEST_PATTERN }) });

const wire = (b: { digest: string; bytes: number; createdAt: number }) => ({
  bundle: b.digest,
  size: b.bytes,
  created_at: new Date(b.createdAt).toISOString(),
});

/**
 * Registers `POST /v1/serverless/bundles` (upload a gzip'd tar; content-addressed) and
 * `GET|HEAD /v1/serverless/bundles/{digest}` (does the caller's owner hold it), both ADMIN.
 */
export function registerBundleRoutes(app: HttpApp, deps: BundleRoutesDeps): void {
  app.register(async (scoped) => {
    const routes = scoped as unknown as HttpApp;
    // The body stays a stream: the store hashes and caps it while writing it to disk.
    routes.addContentTypeParser(BUNDLE_MEDIA_TYPES, (_req, payload, done) => done(null, payload));

    routes.post(
      '/v1/serverless/bundles',
      {
        config: { auth: 'admin' },
        schema: {
          operationId: 'hangarUploadBundle',
          tags: ['Apps'],
          description:
            "Uploads an app bundle (a gzip'd tar) for this owner. The same bytes give the same digest and " +
            'one stored copy; 201 when the owner did not hold it yet, else 200.',
          response: { 200: BundleInfo, 201: BundleInfo },
        },
      },
      async (request, reply) => {
        const { owner } = principalOf(request);
        const body = request.body as IncomingMessage | undefined;
        if (!body || typeof (body as { pipe?: unknown }).pipe !== 'function')
          throw new PlatformError('BUNDLE_INVALID', `send the bundle as ${BUNDLE_MEDIA_TYPES[0]}`);
        const length = request.headers['content-length'];
        const stored = await deps.bundles.put(owner, body, length === undefined ? undefined : Number(length));
        return reply.status(stored.created ? 201 : 200).send(wire(stored));
      },
    );

    routes.get(
      '/v1/serverless/bundles/:digest',
      {
        config: { auth: 'admin' },
        schema: {
          operationId: 'hangarGetBundle',
          tags: ['Apps'],
          description: "A bundle the caller's owner uploaded (404 for any other digest, whoever holds it).",
          params: DigestParams,
          response: { 200: BundleInfo },
        },
      },
      async (request) => {
        const { owner } = principalOf(request);
        const { digest } = request.params as { digest: string };
        const rec = await deps.bundles.get(owner, digest);
        if (!rec) throw new PlatformError('BUNDLE_NOT_FOUND');
        return wire(rec);
      },
    );
  });
}
