import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type FileStore, isOpened, type RunnerDriver, type RunnerHandle } from '@hangar/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createS3FileStore } from '../adapters/s3/file-store.js';
import { type S3TestServer, startS3Server } from '../adapters/s3/s3rver.test-helper.js';
import type { OwnerIds } from '../api/files/dir-handle.js';
import { quietHooks, runnerSpec } from '../runners/driver-contract.test-helper.js';
import { multiTenantIsolation, sandboxUnavailable } from '../runners/sandbox/availability.test-helper.js';
import { chooseIsolation } from '../runners/sandbox/index.js';
import { json, manifest, request, revision, testBed, until } from '../runners/supervisor.test-helper.js';
import { createOwnerSync, type OwnerSync } from './owner-sync.js';

// Real runner processes (in the sandbox where this machine can build it) whose DATA_DIR is the cache.
if (sandboxUnavailable) console.log(`runner data tests run without the sandbox: ${sandboxUnavailable}`);

/** An HTTP server on $PORT whose `POST /sh` runs a shell command and answers its output. */
const SHELL_APP = `
const http = require('node:http');
const { execFile } = require('node:child_process');
http.createServer((req, res) => {
  let body = '';
  req.on('data', (c) => (body += c));
  req.on('end', () => {
    if (req.url === '/health') return res.end('ok');
    execFile('/bin/sh', ['-c', body], { timeout: 20000 }, (err, stdout, stderr) => {
      res.end(JSON.stringify({ code: err ? (err.code ?? 1) : 0, stdout, stderr }));
    });
  });
}).listen(+process.env.PORT, '127.0.0.1');
process.on('SIGTERM', () => process.exit(0));
`;

let s3: S3TestServer;
let objects: FileStore;
let home: string;
let driver: RunnerDriver;
let ownerIds: ((owner: string) => OwnerIds) | null = null;
let sync: OwnerSync;
const handles: RunnerHandle[] = [];

beforeAll(async () => {
  s3 = await startS3Server();
  objects = createS3FileStore({
    bucket: await s3.bucket('runner-data'),
    prefix: '',
    endpoint: s3.endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: s3.credentials,
    requestTimeoutMs: 2000,
    maxAttempts: 2,
  });
  home = mkdtempSync(join(tmpdir(), 'hangar-runner-data-'));
  mkdirSync(join(home, 'app'));
  writeFileSync(join(home, 'app', 'shell.js'), SHELL_APP);
  const isolation = chooseIsolation({
    isolation: multiTenantIsolation === 'auto' ? 'sandbox' : 'trusted',
    settings: {
      memoryBytes: 256 * 1024 * 1024,
      pidsMax: 64,
      nofile: 1024,
      tmpBytes: 16 * 1024 * 1024,
      uidBase: 350_000,
      roPaths: [],
      egress: 'none',
      egressAllowlist: [],
    },
    stateDir: join(home, 'sandbox'),
    searchPath: process.env['PATH'] ?? '',
  });
  driver = isolation.driver;
  if (isolation.mode === 'sandbox') {
    const { identities } = isolation;
    ownerIds = (owner) => identities.forOwner(owner);
  }
  sync = createOwnerSync({
    objects,
    cacheRoot: join(home, 'cache'),
    ...(ownerIds ? { ownerIds } : {}),
    limitsFor: () => ({ bytes: 1024 * 1024, files: 100 }),
    intervalMs: 60_000,
    logger: { info() {}, warn() {} },
  });
});

afterAll(async () => {
  await Promise.all(handles.map((h) => h.stop(1000)));
  await sync?.close();
  await s3?.close();
  if (home) rmSync(home, { recursive: true, force: true });
});

async function start(owner: string): Promise<RunnerHandle> {
  const dataDir = await sync.acquire(owner);
  let exited = false;
  const handle = await driver.start(
    runnerSpec({
      runnerId: `r-${owner}-${handles.length}`,
      owner,
      app: 'shell',
      dir: join(home, 'app'),
      dataDir,
      command: ['node', 'shell.js'],
    }),
    quietHooks({ onExit: () => (exited = true) }),
  );
  handles.push(handle);
  await until(async () => {
    if (exited) throw new Error('runner exited');
    return fetch(`${handle.url}/health`).then(
      (r) => r.ok,
      () => false,
    );
  });
  return handle;
}

async function sh(handle: RunnerHandle, command: string): Promise<{ code: number; stdout: string }> {
  const res = await fetch(`${handle.url}/sh`, { method: 'POST', body: command });
  return (await res.json()) as { code: number; stdout: string };
}

async function put(key: string, text: string): Promise<void> {
  await objects.put(
    key,
    (async function* () {
      yield Buffer.from(text);
    })(),
    {},
  );
}

async function read(key: string): Promise<string | null> {
  const opened = await objects.open(key);
  if (!isOpened(opened)) return null;
  const chunks: Buffer[] = [];
  for await (const c of opened.body) chunks.push(Buffer.from(c));
  return Buffer.concat(chunks).toString();
}

describe('runners with DATA_DIR on S3 storage', () => {
  it('read the store, write back, delete both ways, and never publish links', async () => {
    await put('files/acme/models/weights.txt', 'from the store\n');
    await put('files/rival/secret.txt', 'rival only');
    await sync.acquire('rival');
    const acme = await start('acme');
    const seen = await sh(acme, 'cat "$DATA_DIR/models/weights.txt"; ls "$DATA_DIR"');
    expect(seen.stdout).toBe('from the store\nmodels\n');
    if (ownerIds) {
      // The downloaded file belongs to the owner's sandbox uid: the runner may change it.
      expect(statSync(join(sync.dataDir('acme'), 'models', 'weights.txt')).uid).toBe(ownerIds('acme').uid);
    }
    const wrote = await sh(
      acme,
      [
        'cd "$DATA_DIR"',
        'echo changed >> models/weights.txt',
        'echo result > out.txt',
        'ln -s /etc/passwd passwd',
        `ln -s ${sync.dataDir('rival')} rival`,
        `ln -s ${sync.dataDir('rival')}/secret.txt rival.txt`,
        'echo ok',
      ].join(' && '),
    );
    expect(wrote.stdout).toBe('ok\n');
    await sync.sync('acme');
    const report = await sync.sync('acme');
    expect(report.uploaded.sort()).toEqual(['models/weights.txt', 'out.txt']);
    expect(await read('files/acme/out.txt')).toBe('result\n');
    expect(await read('files/acme/models/weights.txt')).toBe('from the store\nchanged\n');
    const keys: string[] = [];
    for await (const o of objects.list('files/')) keys.push(o.key);
    expect(keys).toEqual(['files/acme/models/weights.txt', 'files/acme/out.txt', 'files/rival/secret.txt']);

    await sh(acme, 'rm "$DATA_DIR/out.txt"');
    await objects.delete('files/acme/models/weights.txt');
    await put('files/acme/new.txt', 'uploaded later');
    const pulled = await sync.sync('acme');
    expect(pulled.removedRemote).toEqual(['out.txt']);
    expect(pulled.removedLocal).toEqual(['models/weights.txt']);
    expect((await sh(acme, 'cat "$DATA_DIR/new.txt"; ls "$DATA_DIR/models"')).stdout).toBe('uploaded later');
    expect(await read('files/acme/out.txt')).toBeNull();

    // What the runner writes just before it stops is published by the last release.
    await sh(acme, 'echo bye > "$DATA_DIR/last.txt"');
    await acme.stop(1000);
    sync.release('acme');
    await sync.sync('acme');
    expect(await read('files/acme/last.txt')).toBe('bye\n');
    sync.release('rival');
  });
});

describe('the supervisor with a synced DATA_DIR', () => {
  const cleanups: Array<() => Promise<void> | void> = [];
  afterAll(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it('gives runners the cache as DATA_DIR and releases it when they end', async () => {
    await put('files/alice/input.txt', 'for alice');
    const h = testBed(cleanups, { dataDirs: sync });
    const { app, rev } = revision(h.dir, manifest({ name: 'echo' }));
    await h.sup.deploy(app, rev);
    const res = await h.sup.dispatch(request('echo'));
    expect(json(res.body).dataDir).toBe(sync.dataDir('alice'));
    writeFileSync(join(sync.dataDir('alice'), 'made-by-runner.txt'), 'x');
    await h.sup.close(2000);
    await until(async () => (await read('files/alice/made-by-runner.txt')) === 'x');
  });
});
