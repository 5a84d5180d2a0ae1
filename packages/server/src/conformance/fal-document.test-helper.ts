import { readFileSync } from 'node:fs';
import { FAL_OPENAPI_PATH, falDocumentMissing } from './fal-openapi.test-helper.js';

// The `/serverless` operations of fal's OpenAPI document, as the list every conformance test walks: an
// operation added to the document shows up here and fails the tests until it is covered.

/** A JSON Schema fragment as the document writes it. */
export interface JsonSchema {
  type?: string | string[];
  enum?: unknown[];
  anyOf?: JsonSchema[];
  items?: JsonSchema;
  format?: string;
  pattern?: string;
  minimum?: number;
  maximum?: number;
  default?: unknown;
  properties?: Record<string, JsonSchema>;
  required?: string[];
}

/** One parameter of an operation. */
export interface FalParameter {
  name: string;
  in: 'query' | 'path' | 'header';
  required?: boolean;
  schema: JsonSchema;
}

/** One `/serverless` operation of fal's document. */
export interface FalOperation {
  operationId: string;
  method: 'GET' | 'POST' | 'DELETE' | 'PUT';
  /** The path as the document writes it, e.g. `/serverless/files/list/{dir}`. */
  path: string;
  parameters: FalParameter[];
  requestBody?: { required?: boolean; content: Record<string, { schema: JsonSchema }> };
  /** Listed statuses with their media types (empty for a bodiless answer such as 204). */
  responses: Record<string, string[]>;
  security: Record<string, string[]>[];
  /** The error envelope schema (the document gives the same one for every error status). */
  errorSchema: JsonSchema;
}

interface RawOperation {
  operationId?: string;
  parameters?: FalParameter[];
  requestBody?: FalOperation['requestBody'];
  responses: Record<string, { content?: Record<string, { schema: JsonSchema }> }>;
  security?: Record<string, string[]>[];
}

let cached: FalOperation[] | null = null;

/** Reads the document; none when it is absent and HANGAR_FAL_OPENAPI is unset (then its suites skip). */
export function falServerlessOperations(): FalOperation[] {
  if (cached) return cached;
  // No document (a clone without `shared/` beside it): no operations; the suites built on them skip.
  if (falDocumentMissing) return [];
  const doc = JSON.parse(readFileSync(FAL_OPENAPI_PATH, 'utf8')) as {
    paths: Record<string, Record<string, RawOperation>>;
  };
  const ops: FalOperation[] = [];
  for (const [path, methods] of Object.entries(doc.paths)) {
    if (!path.startsWith('/serverless')) continue;
    for (const [method, op] of Object.entries(methods)) {
      if (!op.operationId) throw new Error(`${method.toUpperCase()} ${path} has no operationId`);
      const responses = Object.fromEntries(
        Object.entries(op.responses).map(([status, r]) => [status, Object.keys(r.content ?? {})]),
      );
      const errorSchema = op.responses['401']?.content?.['application/json']?.schema;
      if (!errorSchema) throw new Error(`${op.operationId} lists no 401 error schema`);
      ops.push({
        operationId: op.operationId,
        method: method.toUpperCase() as FalOperation['method'],
        path,
        parameters: op.parameters ?? [],
        requestBody: op.requestBody,
        responses,
        security: op.security ?? [],
        errorSchema,
      });
    }
  }
  cached = ops;
  return ops;
}
