import { accessSync, constants } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

// Where fal's OpenAPI document (the oracle of response shapes) is read from. It is never copied into
// this repository: CI points HANGAR_FAL_OPENAPI at it; a checkout with `shared/` beside it finds it there.

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');

/** The document's path: HANGAR_FAL_OPENAPI, else `../shared/reference/fal-openapi/…` beside the repository. */
export const FAL_OPENAPI_PATH =
  process.env['HANGAR_FAL_OPENAPI'] ||
  join(repoRoot, '..', 'shared', 'reference', 'fal-openapi', 'platform-apis-v1.openapi.json');

/**
 * Null when the document can be read; otherwise why the checks that need it are skipped. When
 * HANGAR_FAL_OPENAPI is set but names nothing readable, this throws: a misconfigured CI must fail.
 */
export const falDocumentMissing: string | null = (() => {
  try {
    accessSync(FAL_OPENAPI_PATH, constants.R_OK);
    return null;
  } catch {
    if (process.env['HANGAR_FAL_OPENAPI']) {
      throw new Error(`HANGAR_FAL_OPENAPI is set to ${FAL_OPENAPI_PATH}, which cannot be read`);
    }
    return `fal's OpenAPI document is not at ${FAL_OPENAPI_PATH}; the fal-oracle checks are skipped (set HANGAR_FAL_OPENAPI to run them)`;
  }
})();

/** An operation's schema as the checks should hold Hangar to it: fal's, with the deviations we document. */
export function withDocumentedDeviations(operationId: string, schema: object): object {
  // docs/api-queries.md: a requested analytics percentile with no samples is null, where fal's schema
  // types it as a plain number. Only `p…` fields are widened; every other field is checked as fal has it.
  if (operationId !== 'serverlessGetAnalytics') return schema;
  return JSON.parse(JSON.stringify(schema), (key, value) =>
    /^p\d+_/.test(key) && value && typeof value === 'object' && value.type === 'number'
      ? { ...value, type: ['number', 'null'] }
      : value,
  );
}
