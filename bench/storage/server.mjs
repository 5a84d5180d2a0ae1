// Starts a Hangar server (built dist) in its own process, so its RSS is measured alone; prints its URL and key.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../../packages/server/dist/config.js';
import { startServer } from '../../packages/server/dist/main.js';

const home = process.argv[2];
const env = { HANGAR_LOG_LEVEL: 'warn', HANGAR_HOME: home, PATH: process.env.PATH };
const server = await startServer(loadConfig({ port: '0', home }, env, home));
const key = readFileSync(join(home, 'admin.key'), 'utf8').trim();
process.stdout.write(`${JSON.stringify({ url: server.url, key })}\n`);
process.on('SIGTERM', () => server.shutdown().then(() => process.exit(0)));
