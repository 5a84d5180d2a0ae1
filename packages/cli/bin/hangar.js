#!/usr/bin/env node
// The `hangar` command. This file is committed (not built) so that npm can link it on the first
// `npm install`, before `prepare` has compiled the CLI; it loads the compiled entry point.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const entry = new URL('../dist/main.js', import.meta.url);
if (!existsSync(fileURLToPath(entry))) {
  process.stderr.write('hangar: the CLI is not built yet; run `npm run build` (npm install does it)\n');
  process.exit(1);
}
await import(entry.href);
