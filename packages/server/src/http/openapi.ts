import swagger from '@fastify/swagger';
import type { FastifySchema, RouteOptions } from 'fastify';
import type { HttpApp, RouteAuth } from './app.js';

/** Where our own OpenAPI document is served. */
export const OPENAPI_PATH = '/v1/openapi.json';

/** fal's two security schemes, same names and wording, so a client generated for fal works unchanged. */
const SECURITY_SCHEMES = {
  apiKey: {
    type: 'apiKey',
    in: 'header',
    name: 'Authorization',
    description: 'API key must be prefixed with "Key ", e.g. Authorization: Key YOUR_API_KEY',
  },
  adminApiKey: {
    type: 'apiKey',
    in: 'header',
    name: 'Authorization',
    description: 'Admin API key must be prefixed with "Key ", e.g. Authorization: Key YOUR_ADMIN_API_KEY',
  },
} as const;

/** fal's names for the multi-segment path our routes capture with `*`. */
const WILDCARD_NAMES: Record<string, string> = {
  serverlessListDirectory: 'dir',
  serverlessDownloadFile: 'file',
  serverlessUploadFromUrl: 'file',
  serverlessUploadLocalFile: 'target_path',
};

/** Answers whose body is not JSON, documented with fal's media types. */
const NON_JSON_ANSWERS: Record<string, { description: string; content: Record<string, object> }> = {
  serverlessDownloadFile: {
    description: 'File stream',
    content: {
      'application/octet-stream': {
        schema: { type: 'string', contentMediaType: 'application/octet-stream' },
      },
    },
  },
  serverlessGetMetrics: {
    description: 'Prometheus text exposition format',
    content: { 'text/plain': { schema: { type: 'string' } } },
  },
  serverlessLogsStream: {
    description: 'Server-sent events, one log entry per event',
    content: { 'text/event-stream': { schema: { type: 'string' } } },
  },
};

const ERROR_ENVELOPE = {
  description: "fal's error envelope",
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['type', 'message'],
      properties: {
        type: {
          type: 'string',
          enum: [
            'authorization_error',
            'validation_error',
            'not_found',
            'rate_limited',
            'server_error',
            'not_implemented',
          ],
        },
        message: { type: 'string' },
        code: { type: 'string', description: 'Stable Hangar error code' },
        request_id: { type: 'string' },
      },
    },
  },
};

type DocSchema = FastifySchema & {
  operationId?: string;
  hide?: boolean;
  security?: Record<string, string[]>[];
  response?: Record<string, unknown>;
  params?: { properties?: Record<string, unknown> };
};

function securityOf(auth: RouteAuth | undefined): Record<string, string[]>[] {
  if (auth === 'none') return [];
  if (auth === 'admin') return [{ adminApiKey: [] }];
  return [{ apiKey: [] }];
}

type JsonObject = { required?: string[]; properties?: Record<string, { default?: unknown }> };

/** A parameter with a default need not be sent, though the validator lists it as required. */
function withoutDefaultedRequired(q: JsonObject): JsonObject {
  if (!q.required) return q;
  const required = q.required.filter((name) => q.properties?.[name]?.default === undefined);
  return { ...q, required };
}

/** The documented view of one route: never mutates the schema the route validates with. */
function describeRoute(route: RouteOptions, url: string): { schema: DocSchema; url: string } {
  const own = (route.schema ?? {}) as DocSchema;
  if (!url.startsWith('/v1/') || url === OPENAPI_PATH) return { schema: { ...own, hide: true }, url };
  const schema: DocSchema = { ...own, security: securityOf(route.config?.auth) };
  const id = own.operationId ?? '';
  if (url.endsWith('*')) {
    const name = WILDCARD_NAMES[id] ?? 'path';
    url = `${url.slice(0, -1)}:${name}`;
    schema.params = {
      type: 'object',
      properties: { [name]: { type: 'string' } },
      required: [name],
    } as DocSchema['params'];
  }
  if (own.querystring) schema.querystring = withoutDefaultedRequired(own.querystring as JsonObject);
  const response: Record<string, unknown> = { ...(own.response ?? {}) };
  const nonJson = NON_JSON_ANSWERS[id];
  if (nonJson) response['200'] = nonJson;
  response['default'] = ERROR_ENVELOPE;
  schema.response = response;
  return { schema, url };
}

/**
 * Loads the OpenAPI 3.1 generator and registers `GET /v1/openapi.json`. Await it before any `/v1` route
 * is registered: the generator only sees routes added once it is loaded.
 */
export async function registerOpenApi(app: HttpApp): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Hangar Platform API',
        version: '1.0.0',
        description: "Hangar's Platform API, wire-compatible with fal's Platform APIs for Serverless Apps",
      },
      servers: [{ url: '/v1' }],
      components: { securitySchemes: SECURITY_SCHEMES },
    },
    transform: ({ route, url }) => describeRoute(route as RouteOptions, url),
  });
  app.get(OPENAPI_PATH, { config: { auth: 'none' }, schema: { hide: true } as FastifySchema }, async () =>
    app.swagger(),
  );
}
