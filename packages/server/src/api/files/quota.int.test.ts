import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  FILES_BACKENDS,
  type FilesTestServer,
  multipartBody,
  rawRequest,
  startFilesServer,
} from './server.test-helper.js';
import { buildZip, writeZerosZip } from './zip-writer.test-helper.js';

// A small quota (4 MiB, 50 entries) on a server whose zip limits would let 4 GiB through.
const QUOTA = 4 << 20;

// One suite over both backends (the owner's folder on disk, objects in a real S3 server).
describe.each(FILES_BACKENDS)('on %s', (backend) => {
  let s: FilesTestServer;
  let origin: Server;
  let originUrl: string;
  let now = 1_000_000;
  let zips: string;

  beforeAll(async () => {
    zips = mkdtempSync(join(tmpdir(), 'hangar-zips-'));
    origin = createServer((_req, res) => res.end(Buffer.alloc(2 * QUOTA, 1)));
    await new Promise<void>((resolve) => origin.listen(0, '127.0.0.1', resolve));
    originUrl = `http://127.0.0.1:${(origin.address() as AddressInfo).port}/big`;
    s = await startFilesServer({
      backend,
      quota: { bytes: QUOTA, files: 50 },
      zip: { maxEntries: 1000, maxTotalBytes: 4 * 1024 ** 3 },
      urlFetch: { allowlist: ['127.0.0.1/32'], maxBytes: 8 * QUOTA },
      clock: () => now,
    });
  });
  afterAll(async () => {
    await s.close();
    await new Promise((resolve) => origin.close(resolve));
    rmSync(zips, { recursive: true, force: true });
  });

  const exists = (rel: string) => s.exists('alice', rel);
  const leftovers = () => s.leftovers();

  async function upload(path: string, content: Buffer, query = '') {
    const form = multipartBody('file_upload', 'x.bin', content);
    const res = await rawRequest(
      s.port,
      'POST',
      `/v1/serverless/files/file/local/${path}${query}`,
      { authorization: s.keys.alice, ...form.headers },
      form.body,
    );
    return {
      status: res.status,
      body: res.json() as { error?: { type: string; message: string } } | boolean,
    };
  }

  function expectQuotaRefusal(res: { status: number; body: unknown }) {
    expect(res.status).toBe(413);
    const { error } = res.body as { error: { type: string; message: string } };
    expect(error.type).toBe('validation_error');
    expect(error.message).toMatch(/quota/i);
    expect(error.message).not.toContain(s.dataDir);
  }

  describe('per-owner storage quota', () => {
    it('refuses a 2 GiB zip bomb of a few MB under the quota and extracts nothing', async () => {
      const bomb = join(zips, 'bomb.zip');
      await writeZerosZip(bomb, 'zeros.bin', 2047);
      const zip = readFileSync(bomb);
      // The archive itself fits the quota: what it declares is refused before anything is extracted.
      expect(zip.length).toBeLessThan(3 << 20);
      expectQuotaRefusal(await upload('bomb', zip, '?unzip=true'));
      expect(await exists('bomb')).toBe(false);
      expect(await leftovers()).toEqual([]);
    });

    it('refuses a bomb that lies about its size and removes the partial output', async () => {
      const bomb = join(zips, 'liar.zip');
      await writeZerosZip(bomb, 'zeros.bin', 64, 1000);
      const res = await upload('liar', readFileSync(bomb), '?unzip=true');
      expect([400, 413]).toContain(res.status);
      expect(await exists('liar')).toBe(false);
      expect(await leftovers()).toEqual([]);
    });

    it('refuses an archive whose real contents cross the quota even within the zip limits', async () => {
      const parts = Array.from({ length: 3 }, (_, i) => ({
        name: `p${i}.bin`,
        data: Buffer.alloc(QUOTA / 2),
      }));
      expectQuotaRefusal(await upload('parts', buildZip(parts), '?unzip=true'));
      expect(await exists('parts')).toBe(false);
    });

    it('refuses a plain upload and an upload from a URL over the quota, keeping the old file', async () => {
      await s.seed('alice', 'keep.bin', 'old');
      expectQuotaRefusal(await upload('keep.bin', Buffer.alloc(QUOTA + 1)));
      expect((await s.read('alice', 'keep.bin'))?.toString()).toBe('old');
      const res = await rawRequest(
        s.port,
        'POST',
        '/v1/serverless/files/file/url/from-url.bin',
        { authorization: s.keys.alice, 'content-type': 'application/json' },
        JSON.stringify({ url: originUrl }),
      );
      expectQuotaRefusal({ status: res.status, body: res.json() });
      expect(await exists('from-url.bin')).toBe(false);
      expect(await leftovers()).toEqual([]);
    });

    it('counts what runners wrote into the root once the measurement is older than its window', async () => {
      expect((await upload('small.bin', Buffer.alloc(512 << 10))).status).toBe(200);
      await s.seed('alice', 'runner-output/weights.bin', Buffer.alloc(3 << 20));
      now += 60_000;
      expect((await s.quota.usage('alice')).bytes).toBeGreaterThanOrEqual((3 << 20) + (512 << 10));
      expectQuotaRefusal(await upload('more.bin', Buffer.alloc(1 << 20)));
      const del = await rawRequest(s.port, 'DELETE', '/v1/serverless/files/file/runner-output', {
        authorization: s.keys.alice,
      });
      expect(del.status).toBe(204);
      expect((await upload('more.bin', Buffer.alloc(1 << 20))).status).toBe(200);
    });

    it('counts entries against the file quota', async () => {
      const many = Array.from({ length: 60 }, (_, i) => ({ name: `f${i}.txt`, data: 'x' }));
      expectQuotaRefusal(await upload('many', buildZip(many), '?unzip=true'));
      expect(await exists('many')).toBe(false);
    });

    it('keeps quotas per owner', async () => {
      const form = multipartBody('file_upload', 'x.bin', Buffer.alloc(QUOTA - 1024));
      const res = await rawRequest(
        s.port,
        'POST',
        '/v1/serverless/files/file/local/big.bin',
        { authorization: s.keys.bob, ...form.headers },
        form.body,
      );
      expect(res.status).toBe(200);
    });
  });
});
