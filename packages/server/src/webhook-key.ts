import { generateKeyPairSync } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';

/**
 * The Ed25519 key that signs webhooks, kept in the server home so receivers can verify signatures across
 * restarts (its public half is served at `/.well-known/jwks.json`).
 */
export function loadOrCreateWebhookKey(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const { privateKey } = generateKeyPairSync('ed25519');
  const pem = privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
  writeFileSync(path, pem, { mode: 0o600, flag: 'wx' });
  return pem;
}
