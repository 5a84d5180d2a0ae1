import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { falDocumentMissing } from '../../conformance/fal-openapi.test-helper.js';
import { falViolations } from '../apps/testing/fal-oracle.test-helper.js';
import {
  FILES_BACKENDS,
  type FilesTestServer,
  multipartBody,
  type RawResponse,
  rawRequest,
  startFilesServer,
} from './server.test-helper.js';

// The Files operations checked against fal's OpenAPI document: listed status, content type, schema.

// One suite over both backends (the owner's folder on disk, objects in a real S3 server).
describe.each(FILES_BACKENDS)('on %s', (backend) => {
  let s: FilesTestServer;

  beforeAll(async () => {
    s = await startFilesServer({ backend });
    await s.seed('alice', 'datasets/images/cat.jpg', 'meow');
  });
  afterAll(() => s.close());

  const seen = (res: RawResponse) => ({
    statusCode: res.status,
    headers: res.headers,
    body: res.body.toString('utf8'),
  });
  const auth = () => ({ authorization: s.keys.alice });

  function call(
    method: string,
    path: string,
    headers: Record<string, string> = {},
    body?: string | ReturnType<typeof multipartBody>['body'],
  ) {
    return rawRequest(s.port, method, `/v1/serverless/files/${path}`, { ...auth(), ...headers }, body);
  }

  describe.skipIf(falDocumentMissing !== null)("Files responses match fal's document", () => {
    it.each([
      ['serverlessListRoot', 'list', 200],
      ['serverlessListDirectory', 'list/datasets', 200],
      ['serverlessListDirectory', 'list/datasets/images', 200],
      ['serverlessListDirectory', 'list/%2e%2e', 400],
      ['serverlessDownloadFile', 'file/datasets/images/cat.jpg', 200],
      ['serverlessDownloadFile', 'file/datasets/missing.jpg', 404],
      ['serverlessDownloadFile', 'file/..%2fx', 400],
    ])('%s GET %s → %i', async (op, path, status) => {
      const res = await call('GET', path);
      expect(res.status).toBe(status);
      expect(falViolations(op, seen(res))).toEqual([]);
    });

    it('serverlessListRoot without a key → 401', async () => {
      const res = await rawRequest(s.port, 'GET', '/v1/serverless/files/list');
      expect(falViolations('serverlessListRoot', seen(res))).toEqual([]);
    });

    it('serverlessUploadFromUrl: refused URL → 400, bad body → 400', async () => {
      const json = { 'content-type': 'application/json' };
      const refused = await call(
        'POST',
        'file/url/a.txt',
        json,
        JSON.stringify({ url: 'http://127.0.0.1/' }),
      );
      expect(refused.status).toBe(400);
      expect(falViolations('serverlessUploadFromUrl', seen(refused))).toEqual([]);
      const bad = await call('POST', 'file/url/a.txt', json, JSON.stringify({ url: 'x', more: 1 }));
      expect(falViolations('serverlessUploadFromUrl', seen(bad))).toEqual([]);
    });

    it('serverlessUploadLocalFile: 200 true, wrong part → 400', async () => {
      const ok = multipartBody('file_upload', 'dog.jpg', Buffer.from('woof'));
      const res = await call('POST', 'file/local/datasets/images/dog.jpg', ok.headers, ok.body);
      expect([res.status, res.body.toString()]).toEqual([200, 'true']);
      expect(falViolations('serverlessUploadLocalFile', seen(res))).toEqual([]);
      const wrong = multipartBody('other', 'dog.jpg', Buffer.from('woof'));
      const bad = await call(
        'POST',
        'file/local/datasets/images/dog.jpg?unzip=false',
        wrong.headers,
        wrong.body,
      );
      expect(bad.status).toBe(400);
      expect(falViolations('serverlessUploadLocalFile', seen(bad))).toEqual([]);
    });
  });
});
