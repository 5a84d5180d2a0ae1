// Starts a Hangar server (built dist) in its own process, so its RSS is measured alone; prints its URL
// and key. argv: HOME [STORAGE_URL S3_ENDPOINT]. The S3 key pair comes from hangar.config.json.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../../packages/server/dist/config.js';
import { startServer } from '../../packages/server/dist/main.js';

const [home, storageUrl, endpoint] = process.argv.slice(2);
const env = { HANGAR_LOG_LEVEL: 'warn', HANGAR_HOME: home, PATH: process.env.PATH };
if (storageUrl) Object.assign(env, { HANGAR_STORAGE_URL: storageUrl, HANGAR_S3_ENDPOINT: endpoint });
const server = await startServer(loadConfig({ port: '0', home }, env, home));
const key = readFileSync(join(home, 'admin.key'), 'utf8').trim();
process.stdout.write(`${JSON.stringify({ url: server.url, key })}\n`);
process.on('SIGTERM', () => server.shutdown().then(() => process.exit(0)));
