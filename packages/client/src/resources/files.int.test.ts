import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createHangarClient } from '../client.js';

// The client's paged listing against a real HTTP server that pages a folder as Hangar does: `limit` and
// `cursor` in the query, the next cursor in X-Hangar-Next-Cursor.

let server: Server | null = null;
afterEach(async () => {
  await new Promise((r) => server?.close(r));
  server = null;
});

const names = ['a', 'b', 'c', 'd', 'e'];

async function pagingServer(): Promise<{ url: string; paths: string[] }> {
  const paths: string[] = [];
  const listening = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    paths.push(`${url.pathname}${url.search}`);
    const limit = Number(url.searchParams.get('limit') ?? names.length);
    const from = url.searchParams.has('cursor') ? names.indexOf(url.searchParams.get('cursor') ?? '') + 1 : 0;
    const page = names.slice(from, from + limit);
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (from + limit < names.length) headers['x-hangar-next-cursor'] = page.at(-1) ?? '';
    const entries = page.map((name) => ({
      path: `dir/${name}`,
      name,
      created_time: '2024-01-01T00:00:00.000Z',
      updated_time: '2024-01-01T00:00:00.000Z',
      is_file: true,
      size: 1,
    }));
    res.writeHead(200, headers).end(JSON.stringify(entries));
  });
  server = listening;
  await new Promise<void>((r) => listening.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(listening.address() as AddressInfo).port}`, paths };
}

describe('files listing pages', () => {
  it('reads one page and its next cursor, and iterates every page in order', async () => {
    const { url, paths } = await pagingServer();
    const client = createHangarClient({ url, key: 'k:s' });
    const first = await client.files.listPage('dir', { limit: 2 });
    expect(first.entries.map((e) => e.name)).toEqual(['a', 'b']);
    expect(first).toMatchObject({ next_cursor: 'b', has_more: true });
    const last = await client.files.listPage('dir', { limit: 3, cursor: 'b' });
    expect(last).toMatchObject({ next_cursor: null, has_more: false });
    const all: string[] = [];
    for await (const e of client.files.iterate('dir', 2)) all.push(e.name);
    expect(all).toEqual(names);
    expect(paths.slice(2)).toEqual([
      '/v1/serverless/files/list/dir?limit=2',
      '/v1/serverless/files/list/dir?limit=2&cursor=b',
      '/v1/serverless/files/list/dir?limit=2&cursor=d',
    ]);
  });
});
