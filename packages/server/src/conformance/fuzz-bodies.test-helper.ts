import fc from 'fast-check';
import { buildZip } from '../api/files/zip-writer.test-helper.js';
import type { SeedData } from './seed.test-helper.js';

// Request bodies of the three operations that take one, valid and mutated: the logs label filters,
// the upload-from-URL `{url}`, and the multipart file part of a local upload.

/** A body as sent: JSON or other text with a content type, or one multipart file part. */
export type FuzzBody =
  | { contentType?: string; text: string }
  | { multipart: { field: string; filename: string; content: Buffer } };

const json = (value: unknown): FuzzBody => ({ contentType: 'application/json', text: JSON.stringify(value) });
const CONDITIONS = ['equals', 'in', 'not_equals', 'not_in'] as const;

function labelFilters(d: SeedData) {
  const filter = fc.record(
    {
      key: fc.constantFrom('fal_request_id', 'fal_job_id', 'source', 'level', 'traceback', 'x'),
      value: fc.oneof(
        fc.constantFrom(...d.requestIds, 'gateway', 'info'),
        fc.array(fc.oneof(fc.constantFrom(...d.requestIds), fc.string({ maxLength: 8 })), { maxLength: 3 }),
      ),
      condition_type: fc.constantFrom(...CONDITIONS),
    },
    { requiredKeys: ['key', 'value'] },
  );
  return fc.array(filter, { maxLength: 3 });
}

const BROKEN_JSON = ['', '   ', '{', '[', 'null', 'undefined', '[1,]', '\u0000', '"x"', '{"a":1}', '[[]]'];
const CONTENT_TYPES = ['text/plain', 'application/json; charset=utf-8', 'application/x-www-form-urlencoded'];

function brokenText(): fc.Arbitrary<FuzzBody> {
  return fc.oneof(
    fc.constantFrom(...BROKEN_JSON).map((text) => ({ contentType: 'application/json', text })),
    fc.tuple(fc.constantFrom(...CONTENT_TYPES), fc.string({ maxLength: 30 })).map(([contentType, text]) => ({
      contentType,
      text,
    })),
    fc.jsonValue({ maxDepth: 3 }).map(json),
  );
}

/** Label-filter bodies of the logs operations. */
export function logsBodies(d: SeedData) {
  const valid = fc.option(labelFilters(d).map(json), { nil: undefined });
  const hostileFilters = [
    [{ key: 'a' }],
    [{ key: 'a', value: 1 }],
    [{ key: 'a"b', value: 'x' }],
    [{ key: 'a\\b', value: 'x' }],
    [{ key: '\u0001', value: 'x' }],
    [{ key: '', value: 'x' }],
    [{ key: 'a', value: 'x', extra: 1 }],
    [{ key: 'a', value: [['x']] }],
    [{ key: 'a', value: 'x', condition_type: 'like' }],
    [{ key: 'a'.repeat(300), value: 'x' }],
    Array.from({ length: 101 }, () => ({ key: 'a', value: 'x' })),
    [{ key: 'a', value: Array.from({ length: 1001 }, (_, i) => String(i)), condition_type: 'in' }],
    { key: 'a', value: 'x' },
  ];
  const mutated = fc.oneof(fc.constantFrom(...hostileFilters).map(json), brokenText());
  return { valid, mutated };
}

/** `{url}` bodies of the upload from URL; no URL needs name resolution or leaves the machine. */
export function urlBodies(d: SeedData) {
  const valid = fc.constant(json({ url: `${d.sourceUrl}/cat.txt` }));
  const urls = [
    'http://10.0.0.1/x',
    'http://169.254.169.254/latest/meta-data/',
    'http://[::1]/',
    'http://[::ffff:127.0.0.1]:1/',
    'http://100.64.0.1/',
    'http://0x7f.1:1/',
    'file:///etc/passwd',
    'ftp://127.0.0.1/x',
    'javascript:alert(1)',
    `http://user:pw@${d.sourceUrl.slice(7)}/cat.txt`,
    `${d.sourceUrl}/missing`,
    'http://127.0.0.1:1/',
    `http://10.0.0.1/${'x'.repeat(5000)}`,
    'not a url',
    '',
  ];
  const mutated = fc.oneof(
    fc.constantFrom(...urls).map((url) => json({ url })),
    fc
      .constantFrom({}, { url: 1 }, { url: null }, { url: ['x'] }, [], {
        url: `${d.sourceUrl}/cat.txt`,
        x: 1,
      })
      .map(json),
    brokenText(),
  );
  return { valid, mutated };
}

const part = (field: string, filename: string, content: Buffer): FuzzBody => ({
  multipart: { field, filename, content },
});

/** Multipart bodies of the local upload (the server's upload cap is 1 MiB). */
export function localUploadBodies() {
  const small = fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b));
  const zip = buildZip([{ name: 'z/a.txt', data: 'zipped' }]);
  const valid = fc.oneof(
    small.map((b) => part('file_upload', 'f.bin', b)),
    fc.constant(part('file_upload', 'a.zip', zip)),
  );
  const mutated = fc.oneof(
    small.map((b) => part('other', 'f.bin', b)),
    fc.constant(part('file_upload', 'evil.zip', buildZip([{ name: '../evil.txt', data: 'x' }]))),
    fc.constant(part('file_upload', 'abs.zip', buildZip([{ name: '/abs.txt', data: 'x' }]))),
    fc.constant(part('file_upload', 'bad.zip', Buffer.from('PK\u0003\u0004garbage'))),
    fc.constant(part('file_upload', 'big.bin', Buffer.alloc((1 << 20) + 10, 7))),
    fc.constant<FuzzBody>({ contentType: 'multipart/form-data; boundary=x', text: 'garbage' }),
    fc.constant<FuzzBody>({ contentType: 'multipart/form-data', text: '' }),
    brokenText(),
  );
  return { valid, mutated };
}
