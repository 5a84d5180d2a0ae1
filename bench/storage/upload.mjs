// Storage throughput and server RSS: a 1 GiB multipart upload and its download through Hangar with the
// real @fal-ai/client, against a plain file copy on the same disk. Not a test: prints a Markdown report.
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { createFalClient } from '@fal-ai/client';

const SIZE = Number(process.env.BENCH_BYTES ?? 1024 ** 3);
const MIB = 1024 * 1024;
const base = mkdtempSync(join(process.env.BENCH_DIR ?? tmpdir(), 'hangar-bench-storage-'));

const rssOf = (pid) => {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('VmRSS:'));
  return Number(line?.split(/\s+/)[1] ?? 0) * 1024;
};

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

const child = spawn(
  process.execPath,
  [new URL('./server.mjs', import.meta.url).pathname, join(base, 'home')],
  {
    stdio: ['ignore', 'pipe', 'inherit'],
  },
);
const { url, key } = JSON.parse(
  await new Promise((resolve) => createInterface({ input: child.stdout }).once('line', resolve)),
);
const fal = createFalClient({
  credentials: key,
  requestMiddleware: async (req) => ({
    ...req,
    url: req.url.replace(/^https:\/\/rest\.fal\.ai\//, `${url}/`),
  }),
});

const bytes = randomBytes(SIZE);
const src = join(base, 'src.bin');
writeFileSync(src, bytes);
// Warm up the server's code paths with a small upload, then measure from a settled baseline.
await fal.storage.upload(new Blob([randomBytes(1024)]));
globalThis.gc?.();
const idle = rssOf(child.pid);

let stop = sampleRss(child.pid);
let t0 = performance.now();
const fileUrl = await fal.storage.upload(new Blob([bytes]));
const uploadS = (performance.now() - t0) / 1000;
const uploadPeak = stop();

stop = sampleRss(child.pid);
t0 = performance.now();
const res = await fetch(fileUrl);
let got = 0;
for await (const chunk of res.body) got += chunk.byteLength;
const downloadS = (performance.now() - t0) / 1000;
const downloadPeak = stop();
if (got !== SIZE) throw new Error(`downloaded ${got} of ${SIZE} bytes`);

execFileSync('sync');
t0 = performance.now();
execFileSync('cp', [src, join(base, 'copy.bin')]);
execFileSync('sync');
const copyS = (performance.now() - t0) / 1000;

child.kill('SIGTERM');
rmSync(base, { recursive: true, force: true });

const mbs = (s) => (SIZE / MIB / s).toFixed(0);
const mib = (b) => (b / MIB).toFixed(1);
console.log(`| path | MiB/s | server RSS peak − idle |
| --- | --- | --- |
| upload, ${mib(SIZE)} MiB multipart (10 MiB parts, then assembled) | ${mbs(uploadS)} | ${mib(uploadPeak - idle)} MiB |
| download of the file_url | ${mbs(downloadS)} | ${mib(downloadPeak - idle)} MiB |
| \`cp\` + \`sync\` of the same file on the same disk (reference) | ${mbs(copyS)} | — |

Server idle RSS ${mib(idle)} MiB; upload ${uploadS.toFixed(1)} s, download ${downloadS.toFixed(1)} s, copy ${copyS.toFixed(1)} s.`);
