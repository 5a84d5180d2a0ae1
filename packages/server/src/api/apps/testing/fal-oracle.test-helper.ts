import { readFileSync } from 'node:fs';
import * as ajv2020 from 'ajv/dist/2020.js';
import * as ajvFormats from 'ajv-formats';
import {
  FAL_OPENAPI_PATH,
  falDocumentMissing,
  withDocumentedDeviations,
} from '../../../conformance/fal-openapi.test-helper.js';

// fal's OpenAPI document as the oracle of response shapes: each response is checked against the
// schema the document gives for that operation, status and content type.

interface Doc {
  paths: Record<string, Record<string, { operationId?: string; responses: Record<string, unknown> }>>;
}

type Validate = ((data: unknown) => boolean) & {
  errors?: { instancePath: string; message?: string }[] | null;
};
interface AjvLike {
  addSchema(schema: object, key: string): void;
  getSchema(ref: string): Validate | undefined;
  compile(schema: object): Validate;
}
const interop = <T>(m: unknown): T => ((m as { default?: unknown }).default ?? m) as T;
const Ajv = interop<new (o: object) => AjvLike>(interop(ajv2020));
const addFormats = interop<(a: unknown) => void>(interop(ajvFormats));

let cached: { doc: Doc; ajv: AjvLike } | null = null;

function load() {
  if (cached) return cached;
  const doc = JSON.parse(readFileSync(FAL_OPENAPI_PATH, 'utf8')) as Doc;
  for (const ops of Object.values(doc.paths)) {
    for (const [method, op] of Object.entries(ops))
      if (op.operationId) ops[method] = withDocumentedDeviations(op.operationId, op) as typeof op;
  }
  const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: true });
  addFormats(ajv);
  ajv.addSchema(doc as object, 'fal');
  cached = { doc, ajv };
  return cached;
}

function pointer(...parts: string[]): string {
  return parts.map((p) => p.replace(/~/g, '~0').replace(/\//g, '~1')).join('/');
}

/** A response as inject() or fetch() gives it. */
export interface SeenResponse {
  statusCode: number;
  headers: Record<string, unknown>;
  body: string;
}

/**
 * Checks a response against the document: the status must be listed for the operation, the content
 * type must be one the document gives, and a JSON body must match its schema. Returns the errors.
 */
export function falViolations(operationId: string, res: SeenResponse): string[] {
  // Without the document (a clone with no `shared/` beside it) the oracle has nothing to say; the test
  // run says so once (test/fal-openapi.global-setup.ts), and CI, which has it, always checks.
  if (falDocumentMissing) return [];
  const { doc, ajv } = load();
  for (const [path, ops] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(ops)) {
      if (op.operationId !== operationId) continue;
      const status = String(res.statusCode);
      const response = op.responses[status] as { content?: Record<string, unknown> } | undefined;
      if (!response) return [`status ${status} is not listed for ${operationId}`];
      if (!response.content) return res.body.length === 0 ? [] : [`status ${status} must have no body`];
      const ct = String(res.headers['content-type'] ?? '')
        .split(';')[0]!
        .trim();
      if (!(ct in response.content)) return [`content type ${ct} is not listed for ${operationId} ${status}`];
      if (ct !== 'application/json') return [];
      const ref = `fal#/${pointer('paths', path, method, 'responses', status, 'content', ct, 'schema')}`;
      const validate = ajv.getSchema(ref) ?? ajv.compile({ $ref: ref });
      if (validate(JSON.parse(res.body))) return [];
      return (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message}`);
    }
  }
  return [`operation ${operationId} is not in the document`];
}
