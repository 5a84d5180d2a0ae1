import { SECRET_NAME_MAX, SECRET_VALUE_MAX_BYTES } from '@hangar/core';
import { Type } from 'typebox';
import { type HttpApp, principalOf } from '../http/app.js';
import type { SecretInfo, SecretService } from '../secrets/secret-service.js';

/** Dependencies of the secret routes. */
export interface SecretRoutesDeps {
  secrets: SecretService;
}

const tags = ['Secrets'];
const admin = { auth: 'admin' as const };

/** Any text: the service answers a bad name with its own code (SECRET_NAME_INVALID / _RESERVED). */
const NameParams = Type.Object({ name: Type.String({ maxLength: SECRET_NAME_MAX * 4 }) });

const SecretView = Type.Object({
  name: Type.String(),
  created_at: Type.String({ format: 'date-time' }),
  updated_at: Type.String({ format: 'date-time' }),
});

const SetBody = Type.Object(
  {
    value: Type.String({
      // Characters, not bytes: the byte limit is checked by the service with its own code.
      maxLength: SECRET_VALUE_MAX_BYTES,
      description: 'The value in clear; never answered back or logged',
    }),
  },
  { additionalProperties: false },
);

const iso = (ms: number) => new Date(ms).toISOString();
const toView = (s: SecretInfo) => ({
  name: s.name,
  created_at: iso(s.createdAt),
  updated_at: iso(s.updatedAt),
});

/**
 * Registers `/v1/secrets`: an ADMIN key sets, lists and unsets the secrets of its own owner. No route
 * answers a value, and the owner always comes from the key (another owner's secrets cannot be named).
 */
export function registerSecretRoutes(app: HttpApp, deps: SecretRoutesDeps): void {
  app.get(
    '/v1/secrets',
    {
      config: admin,
      schema: {
        operationId: 'hangarListSecrets',
        tags,
        response: { 200: Type.Object({ secrets: Type.Array(SecretView) }) },
      },
    },
    async (request) => ({ secrets: (await deps.secrets.list(principalOf(request).owner)).map(toView) }),
  );

  app.put(
    '/v1/secrets/:name',
    {
      config: admin,
      schema: {
        operationId: 'hangarSetSecret',
        tags,
        params: NameParams,
        body: SetBody,
        response: { 200: SecretView },
      },
    },
    async (request) => {
      const { owner } = principalOf(request);
      return toView(await deps.secrets.set(owner, request.params.name, request.body.value));
    },
  );

  app.delete(
    '/v1/secrets/:name',
    {
      config: admin,
      schema: { operationId: 'hangarUnsetSecret', tags, params: NameParams },
    },
    async (request, reply) => {
      await deps.secrets.unset(principalOf(request).owner, request.params.name);
      return reply.status(204).send();
    },
  );
}
