import { BUNDLE_DIGEST_PATTERN, PlatformError } from '@hangar/core';
import { Type } from 'typebox';
import { type HttpApp, principalOf } from '../http/app.js';
import type { DeployService } from '../services/deploy.js';

/** Dependencies of the deploy route. */
export interface DeployRoutesDeps {
  deployService: DeployService;
}

/** Body fields that describe the deploy itself; every other field is part of the manifest. */
const DEPLOY_FIELDS = new Set(['bundle', 'message', 'annotations']);

const DeployBody = Type.Object(
  {
    bundle: Type.String({
      pattern: BUNDLE_DIGEST_PATTERN,
      description: 'Digest of a bundle this owner uploaded (`POST /v1/serverless/bundles`)',
    }),
    message: Type.Optional(Type.Union([Type.String({ maxLength: 10_000 }), Type.Null()])),
    annotations: Type.Optional(Type.Union([Type.Record(Type.String(), Type.String()), Type.Null()])),
  },
  {
    additionalProperties: true,
    description:
      'hangar.json fields (name, command, machine_type, …) plus the deploy fields; with no manifest ' +
      "field, the manifest is the bundle's `hangar.json`. A `path` field is refused: tenants deploy by upload.",
  },
);

const DeployResult = Type.Object({
  endpoint_id: Type.String(),
  revision_id: Type.String(),
  created_at: Type.String({ format: 'date-time' }),
  status: Type.Enum(['deployed', 'failed', 'deploying']),
});

/** Registers `POST /v1/serverless/apps`: deploys an uploaded bundle as a new revision (ADMIN key). */
export function registerDeployRoutes(app: HttpApp, deps: DeployRoutesDeps): void {
  app.post(
    '/v1/serverless/apps',
    {
      config: { auth: 'admin' },
      schema: {
        operationId: 'hangarDeployApp',
        tags: ['Apps'],
        body: DeployBody,
        response: { 201: DeployResult },
      },
      // Before validation, so the answer is the same whatever else the body holds; the path is neither
      // echoed nor looked at.
      preValidation: async (request) => {
        const body = request.body;
        if (body && typeof body === 'object' && Object.hasOwn(body, 'path'))
          throw new PlatformError('DEPLOY_PATH_UNSUPPORTED');
      },
    },
    async (request, reply) => {
      const { owner } = principalOf(request);
      const body = request.body as Record<string, unknown> & typeof request.body;
      const manifestFields = Object.entries(body).filter(([k]) => !DEPLOY_FIELDS.has(k));
      const rev = await deps.deployService.deploy({
        owner,
        bundle: body.bundle,
        manifest: manifestFields.length > 0 ? Object.fromEntries(manifestFields) : undefined,
        message: body.message ?? null,
        annotations: body.annotations ?? null,
        deployedBy: owner,
      });
      return reply.status(201).send({
        endpoint_id: `${rev.owner}/${rev.app}`,
        revision_id: rev.revisionId,
        created_at: new Date(rev.createdAt).toISOString(),
        status: rev.status,
      });
    },
  );
}
