// Says once per test run, not once per file, that the fal-oracle checks are skipped on this checkout
// (fal's OpenAPI document is not beside it), and fails the run when HANGAR_FAL_OPENAPI is set but unreadable.
import { falDocumentMissing } from '../packages/server/src/conformance/fal-openapi.test-helper.js';

export default function setup(): void {
  if (falDocumentMissing) process.stdout.write(`\n${falDocumentMissing}\n\n`);
}
