import { Type } from 'typebox';
import { type HttpApp, principalOf } from '../http/app.js';
import type { Gateway } from './gateway.js';
import { createRealtimeUpgrade, type RealtimeDeps } from './realtime.js';
import { MAX_TOKEN_SECONDS, signRealtimeGrant } from './realtime-token.js';

/** fal's default token lifetime (what `@fal-ai/client` asks for). */
const DEFAULT_TOKEN_SECONDS = 120;

const AppRef = Type.String({ pattern: '^([a-z0-9][a-z0-9_-]{0,62}/)?[a-z0-9][a-z0-9-]{0,62}$' });

const TokenBody = Type.Object(
  {
    allowed_apps: Type.Array(AppRef, { minItems: 1, maxItems: 100 }),
    token_expiration: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_TOKEN_SECONDS })),
  },
  { additionalProperties: false },
);

/**
 * Registers fal's `POST /tokens/` (short-lived tokens for `fal_jwt_token`) and the WebSocket upgrade
 * handler of `/run/{owner}/{app}/{route}` on the server under `app`.
 */
export function registerRealtime(app: HttpApp, gateway: Gateway, deps: RealtimeDeps): void {
  const clock = gateway.context.deps.clock;
  app.post(
    '/tokens/',
    {
      config: { auth: 'api' },
      schema: {
        operationId: 'falCreateRealtimeToken',
        tags: ['Realtime'],
        body: TokenBody,
        response: { 201: Type.String({ description: 'The token, for `fal_jwt_token`' }) },
      },
    },
    async (request, reply) => {
      const { allowed_apps, token_expiration } = request.body;
      const seconds = token_expiration ?? DEFAULT_TOKEN_SECONDS;
      const token = signRealtimeGrant(deps.tokenSecret, {
        principal: principalOf(request),
        apps: allowed_apps,
        expiresAt: clock() + seconds * 1000,
      });
      // fal answers the token as a JSON string.
      return reply.code(201).type('application/json').send(JSON.stringify(token));
    },
  );
  app.server.on('upgrade', createRealtimeUpgrade(gateway.context, deps));
}
