import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Jwks, verifyWebhookSignature } from '../../server/src/gateway/webhook-signer.js';
import { openReadOnly } from '../../server/src/store/sqlite/index.js';
import {
  cleanEnv,
  eventually,
  exited,
  requireBuiltCli,
  spawnCli,
  tempDir,
  waitForOutput,
} from './testing/cli-harness.test-helper.js';

// Webhook deliveries survive `kill -9` of the server: a delivery accepted before the crash reaches its
// receiver after the restart with the same id, and one acknowledged before the crash is not sent again.

interface Hit {
  id: string;
  answered: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

const SLOW = 240_000;
let dir: ReturnType<typeof tempDir>;
let home: string;
let env: NodeJS.ProcessEnv;
const hits: Hit[] = [];
let answer = 503;
const receiver = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const id = String(req.headers['x-fal-webhook-request-id']);
    hits.push({ id, answered: answer, headers: req.headers, body: Buffer.concat(chunks) });
    res.statusCode = answer;
    res.end();
  });
});
let hookUrl: string;

beforeAll(async () => {
  requireBuiltCli();
  dir = tempDir('hangar-webhook-outbox-');
  home = join(dir.path, 'home');
  env = cleanEnv(dir.path);
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  hookUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
});

afterAll(async () => {
  receiver.closeAllConnections();
  await new Promise((r) => receiver.close(r));
  dir?.remove();
});

/** `hangar serve --demo` on `home`; resolves with its URL (and the admin key on the first start). */
async function serve() {
  const child = spawnCli(['serve', '--port', '0', '--home', home, '--demo'], env);
  const banner =
    /listening on (http:\/\/\S+)\n(?:admin key \(owner ([^,]+),[^\n]*\n\s+(\S+)\n|[^\n]*admin key: )/;
  const [, url = '', owner, key] = await waitForOutput(child, child.out, banner);
  return { child, url, owner, key };
}

/** The state of a delivery as committed in the server's database. */
function deliveryState(id: string): string | undefined {
  const file = readdirSync(home).find((f) => f.endsWith('.db'));
  const db = openReadOnly(join(home, file!));
  try {
    const row = db.prepare('SELECT state FROM webhook_outbox WHERE id = ?').get(id) as
      | { state: string }
      | undefined;
    return row?.state;
  } finally {
    db.close();
  }
}

async function submit(url: string, owner: string, key: string, input: unknown): Promise<string> {
  const res = await fetch(`${url}/queue/${owner}/echo?fal_webhook=${encodeURIComponent(hookUrl)}`, {
    method: 'POST',
    headers: { authorization: `Key ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify(input),
  });
  expect(res.status).toBe(200);
  return ((await res.json()) as { request_id: string }).request_id;
}

const until = (check: () => boolean) => eventually(async () => (check() ? true : undefined), 240, 250);
const of = (id: string) => hits.filter((h) => h.id === id);

describe('webhook outbox across kill -9', () => {
  it(
    'delivers after a restart with the same id, and never again once acknowledged',
    async () => {
      mkdirSync(home, { recursive: true });
      writeFileSync(
        join(home, 'hangar.config.json'),
        JSON.stringify({ webhooks: { allow_private: true, retry_base_s: 0.5 } }),
      );
      const first = await serve();
      const owner = first.owner ?? 'demo';
      const key = first.key!;
      answer = 503;
      const r1 = await submit(first.url, owner, key, { n: 1 });
      await until(() => of(r1).length >= 1);
      first.child.kill('SIGKILL');
      await exited(first.child);

      answer = 200;
      const second = await serve();
      await until(() => of(r1).some((h) => h.answered === 200));
      await until(() => deliveryState(r1) === 'delivered');

      answer = 503;
      const r2 = await submit(second.url, owner, key, { n: 2 });
      await until(() => of(r2).length >= 1);
      second.child.kill('SIGKILL');
      await exited(second.child);

      answer = 200;
      const third = await serve();
      try {
        await until(() => of(r2).some((h) => h.answered === 200));
        await until(() => deliveryState(r2) === 'delivered');
        const jwks = (await (await fetch(`${third.url}/.well-known/jwks.json`)).json()) as Jwks;
        for (const id of [r1, r2]) {
          const mine = of(id);
          // Acknowledged exactly once, and nothing after the acknowledgement, across two crashes.
          expect(mine.filter((h) => h.answered === 200)).toHaveLength(1);
          expect(mine.at(-1)?.answered).toBe(200);
          for (const h of mine) {
            expect(JSON.parse(h.body.toString())).toMatchObject({ request_id: id, status: 'OK' });
            const signed = {
              requestId: String(h.headers['x-fal-webhook-request-id']),
              userId: String(h.headers['x-fal-webhook-user-id']),
              timestamp: String(h.headers['x-fal-webhook-timestamp']),
              signature: String(h.headers['x-fal-webhook-signature']),
            };
            expect(verifyWebhookSignature(jwks, signed, h.body)).toBe(true);
          }
        }
        expect(JSON.parse(of(r1)[0]!.body.toString()).payload).toMatchObject({ echo: { n: 1 } });
      } finally {
        third.child.kill('SIGTERM');
        await exited(third.child);
      }
    },
    SLOW,
  );
});
