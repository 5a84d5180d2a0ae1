// Runs s3rver in its own process (started by s3rver.test-helper.ts): `node --openssl-legacy-provider
// s3rver-main.test-helper.mjs DIR`. s3rver signs its listing cursors with DES, which OpenSSL 3 offers
// only through its legacy provider. Prints the port once listening; exits when stdin closes.
//
// One fix to the test server: s3rver 3.7.1 lists keys in folder-walk order rather than S3's UTF-8 byte
// order (so `a/b` comes before `a-c`, and paging with StartAfter skips keys), never reports a common
// prefix whose objects all sit deeper, and does not count common prefixes against MaxKeys. The
// replacement below lists as S3 documents ListObjectsV2. The multipart fixes (UploadPartCopy,
// AbortMultipartUpload, S3's ETag of a multipart object) are in s3rver-multipart.test-helper.mjs;
// everything else is s3rver's own.
import { readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import S3rver from 's3rver';
import './s3rver-multipart.test-helper.mjs';

const require = createRequire(import.meta.url);
const FilesystemStore = require('s3rver/lib/stores/filesystem.js');
const S3Object = require('s3rver/lib/models/object.js');
const OBJECT_SUFFIX = '._S3rver_object';

function* objectKeys(dir, base) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) yield* objectKeys(path, `${base}${name}/`);
    else if (name.endsWith(OBJECT_SUFFIX)) yield base + name.slice(0, -OBJECT_SUFFIX.length);
  }
}

const byBytes = (a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b));

FilesystemStore.prototype.listObjects = async function listObjects(bucket, options) {
  const { delimiter = '', startAfter = '', prefix = '', maxKeys = 1000 } = options;
  const keys = [...objectKeys(this.getBucketPath(bucket), '')]
    .filter((k) => k.startsWith(prefix) && byBytes(k, startAfter) > 0)
    .sort(byBytes);
  const entries = [];
  for (const key of keys) {
    const cut = delimiter ? key.indexOf(delimiter, prefix.length) : -1;
    const entry = cut === -1 ? { key } : { prefix: key.slice(0, cut + delimiter.length) };
    const last = entries.at(-1);
    if (entry.prefix !== undefined && last?.prefix === entry.prefix) continue;
    // A prefix given as StartAfter (or sorting before it) was listed on an earlier page.
    if (
      entry.prefix !== undefined &&
      byBytes(entry.prefix, startAfter) <= 0 &&
      startAfter.startsWith(entry.prefix)
    )
      continue;
    entries.push(entry);
  }
  const page = entries.slice(0, maxKeys);
  const objects = [];
  for (const e of page) {
    if (e.key === undefined) continue;
    const metadata = await this.getMetadata(bucket, e.key).catch(() => undefined);
    if (metadata) objects.push(new S3Object(bucket, e.key, null, metadata));
  }
  const isTruncated = entries.length > page.length;
  const commonPrefixes = page.filter((e) => e.prefix !== undefined).map((e) => e.prefix);
  // s3rver builds its continuation token from the page's last object; a page of folders only has none.
  if (isTruncated && objects.length === 0) objects['-1'] = { key: commonPrefixes.at(-1) };
  return { objects, commonPrefixes, isTruncated };
};

const server = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory: process.argv[2] });
const { port } = await server.run();
process.stdout.write(`${JSON.stringify({ port })}\n`);
process.stdin.resume();
process.stdin.on('end', () => server.close().then(() => process.exit(0)));
