import type { ApiKeyRecord } from '@hangar/core';
import { Type } from 'typebox';
import { type HttpApp, principalOf } from '../http/app.js';
import type { KeyService } from '../services/keys.js';

/** Dependencies of the key routes. */
export interface KeyRoutesDeps {
  keyService: KeyService;
}

const Scope = Type.Enum(['API', 'ADMIN']);

const KeyInfo = Type.Object({
  key_id: Type.String(),
  scope: Scope,
  name: Type.Union([Type.String(), Type.Null()]),
  created_at: Type.String({ format: 'date-time' }),
  revoked_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
});

const CreateKeyBody = Type.Object(
  {
    scope: Scope,
    name: Type.Optional(Type.Union([Type.String({ minLength: 1, maxLength: 200 }), Type.Null()])),
  },
  { additionalProperties: false },
);

const CreatedKey = Type.Object({
  key_id: Type.String(),
  key: Type.String({ description: '`key_id:secret`; shown only in this response' }),
  scope: Scope,
  name: Type.Union([Type.String(), Type.Null()]),
  created_at: Type.String({ format: 'date-time' }),
});

const iso = (ms: number) => new Date(ms).toISOString();

function toKeyInfo(k: ApiKeyRecord) {
  return {
    key_id: k.keyId,
    scope: k.scope,
    name: k.name,
    created_at: iso(k.createdAt),
    revoked_at: k.revokedAt === null ? null : iso(k.revokedAt),
  };
}

/** Registers `/v1/keys`: an ADMIN key creates, lists and revokes the keys of its own owner. */
export function registerKeyRoutes(app: HttpApp, deps: KeyRoutesDeps): void {
  app.post(
    '/v1/keys',
    {
      config: { auth: 'admin' },
      schema: {
        operationId: 'hangarCreateKey',
        tags: ['Keys'],
        body: CreateKeyBody,
        response: { 201: CreatedKey },
      },
    },
    async (request, reply) => {
      const { owner } = principalOf(request);
      const created = await deps.keyService.createKey(owner, request.body.scope, request.body.name ?? null);
      const { key_id, scope, name, created_at } = toKeyInfo(created.record);
      return reply.status(201).send({ key_id, key: created.key, scope, name, created_at });
    },
  );

  app.get(
    '/v1/keys',
    {
      config: { auth: 'admin' },
      schema: {
        operationId: 'hangarListKeys',
        tags: ['Keys'],
        response: { 200: Type.Object({ keys: Type.Array(KeyInfo) }) },
      },
    },
    async (request) => {
      const keys = await deps.keyService.listKeys(principalOf(request).owner);
      return { keys: keys.map(toKeyInfo) };
    },
  );

  app.delete(
    '/v1/keys/:key_id',
    {
      config: { auth: 'admin' },
      schema: {
        operationId: 'hangarRevokeKey',
        tags: ['Keys'],
        params: Type.Object({ key_id: Type.String({ minLength: 1 }) }),
      },
    },
    async (request, reply) => {
      await deps.keyService.revokeKey(principalOf(request).owner, request.params.key_id);
      return reply.status(204).send();
    },
  );
}
