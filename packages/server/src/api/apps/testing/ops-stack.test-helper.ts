import { randomUUID } from 'node:crypto';
import type { KeyScope, KeyStore } from '@hangar/core';
import { hashSecret } from '../../../http/auth.js';

// Pieces of the app operations tests: the app they deploy, keys, and polling.

/** A runner app answering its VERSION and runner id, after `sleep_ms` of the input. */
export const SERVER = `import http from 'node:http';
const version = process.env.VERSION;
http.createServer((req, res) => {
  if (req.url === '/health') return res.end('ok');
  let body = '';
  req.on('data', (c) => { body += c; });
  req.on('end', () => {
    const input = body ? JSON.parse(body) : {};
    setTimeout(() => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ version, runner: process.env.HANGAR_RUNNER_ID }));
    }, input.sleep_ms ?? 0);
  });
}).listen(Number(process.env.PORT), '127.0.0.1');
`;

/** A sync call of `alice/<name>`: its status and the version that answered, or the failure's detail. */
export async function callApp(
  base: string,
  authorization: string,
  name: string,
  input: object = {},
): Promise<{ status: number; version?: string; detail?: unknown }> {
  const res = await fetch(`${base}/run/alice/${name}`, {
    method: 'POST',
    headers: { authorization, 'content-type': 'application/json' },
    body: JSON.stringify(input),
  });
  const json = (await res.json()) as { version?: string; detail?: unknown };
  // A failure carries its detail, so an assertion on the results says why.
  if (res.status !== 200) return { status: res.status, detail: json.detail };
  return { status: res.status, version: json.version };
}

/** Inserts an owner's key through the store; returns the `Authorization` header value. */
export async function key(keys: KeyStore, owner: string, scope: KeyScope): Promise<string> {
  const keyId = randomUUID();
  const secret = randomUUID();
  await keys.ensureOwner(owner);
  await keys.insertKey(
    { keyId, owner, scope, name: null, createdAt: Date.now(), revokedAt: null },
    hashSecret(secret),
  );
  return `Key ${keyId}:${secret}`;
}

/** Reads until `ok` holds (the test's own timeout bounds it). */
export async function until<T>(read: () => Promise<T>, ok: (v: T) => boolean): Promise<T> {
  for (;;) {
    const v = await read();
    if (ok(v)) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
}
