import { PlatformError, toEnvelope } from '@hangar/core';
import Fastify from 'fastify';
import { toPlatformError } from '../http/app.js';
import { FILE_ROUTE, objectServer, type StorageRoutesDeps } from './routes.js';

/** The runners' file host: a listener on the host's loopback that serves `file_url`s and nothing else. */
export interface FileHost {
  port: number;
  close(): Promise<void>;
}

/**
 * Starts the file host on `127.0.0.1` (an ephemeral port). It answers `GET`/`HEAD /files/{id}/{name}`
 * exactly as the public route does, and 404 to everything else: no API, no gateway, no keys. Sandboxed
 * runners reach this one port (and no other of the host) through their port forward, so an app can read
 * the objects whose URLs it is given and learns nothing it could not with the public URL.
 */
export async function startFileHost(deps: StorageRoutesDeps): Promise<FileHost> {
  const app = Fastify({ logger: false });
  app.route({ method: ['GET', 'HEAD'], url: FILE_ROUTE, handler: objectServer(deps) });
  app.setNotFoundHandler((_request, reply) => {
    reply.status(404).send(toEnvelope(new PlatformError('STORAGE_OBJECT_NOT_FOUND')));
  });
  app.setErrorHandler((err, _request, reply) => {
    const platform = toPlatformError(err);
    for (const [name, value] of Object.entries(platform.headers)) reply.header(name, value);
    reply.status(platform.status).send(toEnvelope(platform));
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return { port, close: () => app.close() };
}
