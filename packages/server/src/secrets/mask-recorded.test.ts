import { JsonText } from '@hangar/core';
import { describe, expect, it } from 'vitest';
import { requestFixture } from '../store/fixtures.js';
import { MemoryRequestStore } from '../store/memory/requests.js';
import { maskRecordedPayloads, maskRecordedValue } from './mask-recorded.js';

const SECRET = 'acme-secret-value';
const mask = (owner: string, text: string) => (owner === 'acme' ? text.split(SECRET).join('***') : text);
const json = (v: unknown) => JSON.parse(JSON.stringify(v));

describe('maskRecordedValue', () => {
  it('masks strings and keys at any depth, JSON text included, and keeps other values', () => {
    const m = (t: string) => mask('acme', t);
    expect(json(maskRecordedValue(new JsonText(`{"a":["x ${SECRET}"],"${SECRET}":1}`), m))).toEqual({
      a: ['x ***'],
      '***': 1,
    });
    const untouched = new JsonText('{"a":1}');
    expect(maskRecordedValue(untouched, m)).toBe(untouched);
    expect(maskRecordedValue({ truncated: true, size: 9 }, m)).toEqual({ truncated: true, size: 9 });
    expect(maskRecordedValue(null, m)).toBeNull();
  });
});

describe('maskRecordedPayloads', () => {
  it("masks the owner's values in json_input and json_output, and leaves the raw input and result", async () => {
    const inner = new MemoryRequestStore(() => 0, 65_536);
    const store = maskRecordedPayloads(inner, mask);
    const body = Buffer.from(JSON.stringify({ in: SECRET }));
    await store.insert(requestFixture('r1', { jsonInput: new JsonText(body.toString()) }), body);
    const result = {
      statusCode: 200,
      contentType: 'application/json',
      body: Buffer.from(`{"out":"${SECRET}"}`),
    };
    store.complete('r1', { jsonOutput: new JsonText(result.body.toString()) }, result, 10_000);
    const rec = await inner.get('r1');
    expect(json(rec?.jsonInput)).toEqual({ in: '***' });
    expect(json(rec?.jsonOutput)).toEqual({ out: '***' });
    expect((await inner.getResult('r1'))?.body.toString()).toContain(SECRET);
  });

  it("never masks with another owner's values, and records no output for a request of unknown owner", async () => {
    const inner = new MemoryRequestStore(() => 0, 65_536);
    const store = maskRecordedPayloads(inner, mask);
    await inner.insert(
      requestFixture('zeta-1', { owner: 'zeta', jsonInput: { v: SECRET } }),
      Buffer.alloc(0),
    );
    await inner.insert(requestFixture('lost', { jsonInput: null }), Buffer.alloc(0));
    // zeta's request is learnt from the resumption listing; "lost" is completed without being known.
    await inner.update('lost', { status: 'COMPLETED' });
    await store.listUnfinished();
    store.complete('zeta-1', { jsonOutput: { v: SECRET } }, null, 10_000);
    store.complete('lost', { jsonOutput: { v: SECRET } }, null, 10_000);
    expect((await inner.get('zeta-1'))?.jsonOutput).toEqual({ v: SECRET });
    expect((await inner.get('lost'))?.jsonOutput).toBeNull();
  });
});
