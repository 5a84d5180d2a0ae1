// Files API on S3: upload and download MB/s through Hangar vs straight to the same s3rver with the AWS
// SDK (same run) and server RSS growth (listings: list.mjs). Not a test: prints a Markdown report.
// Env: BENCH_BYTES (2 GiB), BENCH_DIR.
import { spawn } from 'node:child_process';
import {
  closeSync,
  createReadStream,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { CreateBucketCommand, GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';

const SIZE = Number(process.env.BENCH_BYTES ?? 2 * 1024 ** 3);
const MIB = 1024 * 1024;
const base = mkdtempSync(join(process.env.BENCH_DIR ?? tmpdir(), 'hangar-bench-files-'));
const credentials = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

const rssOf = (pid) =>
  Number(readFileSync(`/proc/${pid}/status`, 'utf8').match(/VmRSS:\s+(\d+)/)?.[1] ?? 0) * 1024;
function sampleRss(pid) {
  let peak = rssOf(pid);
  const timer = setInterval(() => {
    peak = Math.max(peak, rssOf(pid));
  }, 20);
  return () => {
    clearInterval(timer);
    return Math.max(peak, rssOf(pid));
  };
}
/** CPU seconds (user + system) a process has used so far, from /proc (clock ticks of 1/100 s). */
const cpuOf = (pid) => {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
};
const ownCpu = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};
/** CPU seconds per GiB moved, of Hangar, s3rver and this client, over `fn`. */
async function cpuPerGiB(pids, fn) {
  const before = [...pids.map(cpuOf), ownCpu()];
  const out = await fn();
  const after = [...pids.map(cpuOf), ownCpu()];
  return { out, cpu: after.map((a, i) => ((a - before[i]) / (SIZE / 1024 ** 3)).toFixed(2)) };
}
const firstLine = (child) => new Promise((r) => createInterface({ input: child.stdout }).once('line', r));

async function startS3() {
  const main = new URL('../../packages/server/src/adapters/s3/s3rver-main.test-helper.mjs', import.meta.url);
  const child = spawn(process.execPath, ['--openssl-legacy-provider', main.pathname, join(base, 's3')], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  mkdirSync(join(base, 's3'), { recursive: true });
  const { port } = JSON.parse(await firstLine(child));
  return { child, endpoint: `http://127.0.0.1:${port}` };
}

async function startHangar(name, storage, files = {}) {
  const home = join(base, name);
  mkdirSync(home, { recursive: true });
  const s3 = storage ? { s3: { access_key_id: 'S3RVER', secret_access_key: 'S3RVER' } } : {};
  writeFileSync(
    join(home, 'hangar.config.json'),
    JSON.stringify({
      limits: { max_upload_bytes: SIZE + MIB, storage_quota_files: 10_000_000 },
      storage: s3,
      files,
    }),
  );
  const args = storage ? [storage.url, storage.endpoint] : [];
  const child = spawn(process.execPath, [new URL('./server.mjs', import.meta.url).pathname, home, ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout });
  const { url, key } = JSON.parse(await new Promise((r) => lines.once('line', r)));
  // The server's own warnings and errors (its log goes to stdout) show why a call failed.
  lines.on('line', (line) => process.env.BENCH_VERBOSE && process.stderr.write(`${line}\n`));
  return { child, home, port: Number(new URL(url).port), auth: `Key ${key}` };
}

/** Sends a request, streaming `body` (a function writing to the request) and draining the answer. */
function call(h, method, path, headers = {}, body) {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: h.port,
        method,
        path,
        headers: { ...(h.auth ? { authorization: h.auth } : {}), ...headers },
      },
      (res) => {
        let n = 0;
        const chunks = [];
        res.on('data', (c) => {
          n += c.length;
          if (n < 1 << 20) chunks.push(c);
        });
        res.on('end', () =>
          resolve({ status: res.statusCode, bytes: n, text: Buffer.concat(chunks).toString() }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    if (body) body(req);
    else req.end();
  });
}

function uploadFile(h, target, file) {
  const boundary = 'hangarbench';
  const head = `--${boundary}\r\nContent-Disposition: form-data; name="file_upload"; filename="x"\r\n\r\n`;
  return call(
    h,
    'POST',
    `/v1/serverless/files/file/local/${target}`,
    { 'content-type': `multipart/form-data; boundary=${boundary}` },
    (req) => {
      req.write(head);
      const rs = createReadStream(file);
      rs.pipe(req, { end: false });
      rs.on('end', () => req.end(`\r\n--${boundary}--\r\n`));
    },
  );
}

const s3 = await startS3();
const client = new S3Client({
  endpoint: s3.endpoint,
  region: 'us-east-1',
  forcePathStyle: true,
  credentials,
});
await client.send(new CreateBucketCommand({ Bucket: 'bench' }));
const hangar = await startHangar('home-s3', { url: 's3://bench/hangar/', endpoint: s3.endpoint });
const rows = [];
const cpuRows = [];
const src = join(base, 'src.bin');
try {
  const block = Buffer.alloc(8 * MIB);
  for (let i = 0; i < block.length; i += 4) block.writeUInt32LE((i * 2654435761) >>> 0, i);
  const fd = openSync(src, 'w');
  for (let left = SIZE; left > 0; left -= block.length) writeSync(fd, block, 0, Math.min(left, block.length));
  closeSync(fd);
  // Warm up the code paths with a small upload, then measure from a settled baseline.
  const warm = join(base, 'warm.bin');
  writeFileSync(warm, block);
  await uploadFile(hangar, 'warm.bin', warm);
  for (let i = 0; i < 8; i++) await call(hangar, 'GET', '/v1/serverless/files/file/warm.bin');
  const idle = rssOf(hangar.child.pid);
  let stop = sampleRss(hangar.child.pid);
  let t = performance.now();
  const up = await uploadFile(hangar, 'big.bin', src);
  const upS = (performance.now() - t) / 1000;
  const upPeak = stop();
  if (up.status !== 200) throw new Error(`upload answered ${up.status}: ${up.text}`);
  stop = sampleRss(hangar.child.pid);
  t = performance.now();
  const { out: down, cpu: downCpu } = await cpuPerGiB([hangar.child.pid, s3.child.pid], () =>
    call(hangar, 'GET', '/v1/serverless/files/file/big.bin'),
  );
  const downS = (performance.now() - t) / 1000;
  const downPeak = stop();
  if (down.bytes !== SIZE) throw new Error(`download gave ${down.bytes} bytes`);

  // The same download from a second server on the same bucket that answers large files with a 302 to a
  // signed URL (`files.download_redirect_bytes`): the client follows it to s3rver.
  const redirecting = await startHangar(
    'home-s3-redirect',
    { url: 's3://bench/hangar/', endpoint: s3.endpoint },
    { download_redirect_bytes: MIB },
  );
  const moved = await call(redirecting, 'GET', '/v1/serverless/files/file/big.bin');
  if (moved.status !== 302) throw new Error(`redirecting server answered ${moved.status}`);
  t = performance.now();
  const followed = await fetch(`http://127.0.0.1:${redirecting.port}/v1/serverless/files/file/big.bin`, {
    headers: { authorization: redirecting.auth },
  });
  let redirectBytes = 0;
  for await (const c of followed.body) redirectBytes += c.length;
  const redirectS = (performance.now() - t) / 1000;
  redirecting.child.kill('SIGTERM');
  if (redirectBytes !== SIZE) throw new Error(`redirected download gave ${redirectBytes} bytes`);

  t = performance.now();
  await new Upload({
    client,
    params: { Bucket: 'bench', Key: 'direct/big.bin', Body: createReadStream(src) },
    partSize: 8 * MIB,
    queueSize: 4,
  }).done();
  const refUpS = (performance.now() - t) / 1000;
  t = performance.now();
  const { out: refBytes, cpu: refCpu } = await cpuPerGiB([hangar.child.pid, s3.child.pid], async () => {
    const got = await client.send(new GetObjectCommand({ Bucket: 'bench', Key: 'direct/big.bin' }));
    let n = 0;
    for await (const c of got.Body) n += c.length;
    return n;
  });
  const refDownS = (performance.now() - t) / 1000;

  // The same bytes through a bare node:http pass-through (no Hangar, no SDK): the cost of one Node hop.
  const signed = await getSignedUrl(
    client,
    new GetObjectCommand({ Bucket: 'bench', Key: 'direct/big.bin' }),
    {
      expiresIn: 600,
    },
  );
  const bare = spawn(process.execPath, [new URL('./bare-proxy.mjs', import.meta.url).pathname, signed], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const bareHop = { port: JSON.parse(await firstLine(bare)).port, auth: '' };
  t = performance.now();
  const { out: bareDown, cpu: bareCpu } = await cpuPerGiB([bare.pid, s3.child.pid], () =>
    call(bareHop, 'GET', '/'),
  );
  const bareS = (performance.now() - t) / 1000;
  bare.kill('SIGTERM');
  if (bareDown.bytes !== SIZE) throw new Error(`bare proxy gave ${bareDown.bytes} bytes`);

  // The bench's own node:http client reading the signed URL straight from s3rver (no hop): the client
  // every "through Hangar" row uses, without Hangar, so the hop's cost is measured against like for like.
  const signedUrl = new URL(signed);
  t = performance.now();
  const plain = await call(
    { port: Number(signedUrl.port), auth: '' },
    'GET',
    signedUrl.pathname + signedUrl.search,
  );
  const plainS = (performance.now() - t) / 1000;
  if (plain.bytes !== SIZE) throw new Error(`plain client gave ${plain.bytes} bytes`);

  const mibs = (s) => (SIZE / MIB / s).toFixed(0);
  // Printed as soon as measured: the listings below can take long on s3rver.
  console.error(
    JSON.stringify({
      upS,
      refUpS,
      downS,
      refDownS,
      redirectS,
      upGrowth: upPeak - idle,
      downGrowth: downPeak - idle,
      // CPU seconds per GiB: [Hangar (or the bare proxy), s3rver, client].
      downCpu,
      refCpu,
      bareS,
      bareCpu,
      plainS,
    }),
  );
  rows.push(
    `| upload ${SIZE / MIB} MiB | ${mibs(upS)} | ${mibs(refUpS)} | ${(refUpS / upS).toFixed(2)}× | ${((upPeak - idle) / MIB).toFixed(1)} MiB |`,
  );
  rows.push(
    `| download ${SIZE / MIB} MiB, 302 to a signed URL | ${mibs(redirectS)} | ${mibs(refDownS)} | ${(refDownS / redirectS).toFixed(2)}× | — |`,
  );
  cpuRows.push(`| download through Hangar | ${downCpu.join(' | ')} |`);
  cpuRows.push(`| bare node:http proxy (no Hangar) | ${bareCpu.join(' | ')} |`);
  cpuRows.push(`| SDK straight from s3rver | ${refCpu.join(' | ')} |`);
  rows.push(
    `| download ${SIZE / MIB} MiB, bare node:http proxy | ${mibs(bareS)} | ${mibs(refDownS)} | ${(refDownS / bareS).toFixed(2)}× | — |`,
  );
  rows.push(
    `| download ${SIZE / MIB} MiB, the same node:http client straight from s3rver (no hop) | ${mibs(plainS)} | ${mibs(refDownS)} | ${(refDownS / plainS).toFixed(2)}× | — |`,
  );
  rows.push(
    `| download ${SIZE / MIB} MiB | ${mibs(downS)} | ${mibs(refDownS)} (${refBytes === SIZE ? 'ok' : 'short'}) | ${(refDownS / downS).toFixed(2)}× | ${((downPeak - idle) / MIB).toFixed(1)} MiB |`,
  );
  rows.push(
    `| download ${SIZE / MIB} MiB through Hangar vs the same client with no hop | ${mibs(downS)} | ${mibs(plainS)} (node:http) | ${(plainS / downS).toFixed(2)}× | — |`,
  );
} finally {
  hangar.child.kill('SIGTERM');
}

// The same 2 GiB file through a server on local disk (file:// storage): its memory.
const disk = await startHangar('home-disk', null);
try {
  // The same 2 GiB file through a server on local disk: its memory.
  const warm = join(base, 'warm.bin');
  await uploadFile(disk, 'warm.bin', warm);
  const idle = rssOf(disk.child.pid);
  let stop = sampleRss(disk.child.pid);
  let t = performance.now();
  const up = await uploadFile(disk, 'big.bin', src);
  const upS = (performance.now() - t) / 1000;
  const upPeak = stop();
  if (up.status !== 200) throw new Error(`disk upload answered ${up.status}: ${up.text}`);
  stop = sampleRss(disk.child.pid);
  t = performance.now();
  const down = await call(disk, 'GET', '/v1/serverless/files/file/big.bin');
  const downS = (performance.now() - t) / 1000;
  const downPeak = stop();
  if (down.bytes !== SIZE) throw new Error(`disk download gave ${down.bytes} bytes`);
  rmSync(src, { force: true });
  const mibs = (s) => (SIZE / MIB / s).toFixed(0);
  rows.push(
    `| local disk: upload ${SIZE / MIB} MiB | ${mibs(upS)} | — | — | ${((upPeak - idle) / MIB).toFixed(1)} MiB |`,
  );
  rows.push(
    `| local disk: download ${SIZE / MIB} MiB | ${mibs(downS)} | — | — | ${((downPeak - idle) / MIB).toFixed(1)} MiB |`,
  );
} finally {
  disk.child.kill('SIGTERM');
  s3.child.stdin.end();
  s3.child.kill('SIGTERM');
}

console.log(`Files API on S3 (s3rver), ${new Date().toISOString()}\n`);
console.log(
  '| path | through Hangar MiB/s | SDK straight to s3rver MiB/s | ratio | server RSS peak − idle |',
);
console.log('| --- | --- | --- | --- | --- |');
for (const r of rows) console.log(r);
console.log('\n| CPU seconds per GiB downloaded | Hangar (or the bare proxy) | s3rver | client |');
console.log('| --- | --- | --- | --- |');
for (const r of cpuRows) console.log(r);
rmSync(base, { recursive: true, force: true });
