// Summarises the server's .cpuprofile (BENCH_PROFILE=1): self time by function and by source area.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const [dir, fromArg, toArg] = process.argv.slice(2);
// Optional window, seconds since the profile started: only samples inside it count.
const fromUs = fromArg ? Number(fromArg) * 1e6 : 0;
const toUs = toArg ? Number(toArg) * 1e6 : Number.POSITIVE_INFINITY;
if (!dir) {
  process.stderr.write('usage: profile-top.mjs <dir with .cpuprofile files> [from-s to-s]\n');
  process.exit(2);
}

/** Maps a script URL to a coarse area: our packages by folder, dependencies by package name. */
function areaOf(url) {
  if (!url) return '(native / gc / idle)';
  if (url.startsWith('node:')) return url;
  const dep = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (dep) return dep[1];
  const ours = /packages\/([^/]+)\/(?:dist|src)\/([^/]+)/.exec(url);
  if (ours) return `@hangar/${ours[1]}/${ours[2].replace(/\.[jt]s$/, '')}`;
  return url.split('/').slice(-2).join('/');
}

/** A script URL shortened to `package/file` for our sources and `dependency/file` for others. */
function fileOf(url) {
  const ours = /packages\/([^/]+)\/(?:dist|src)\/(.+)$/.exec(url);
  if (ours) return `@hangar/${ours[1]}/${ours[2]}`;
  const dep = /node_modules\/((?:@[^/]+\/)?[^/]+)\/(?:.*\/)?([^/]+)$/.exec(url);
  return dep ? `${dep[1]}/${dep[2]}` : areaOf(url);
}

const selfByFn = new Map();
const selfByArea = new Map();
let total = 0;
for (const file of readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'))) {
  const prof = JSON.parse(readFileSync(join(dir, file), 'utf8'));
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const dt = prof.timeDeltas;
  let at = 0;
  for (let i = 0; i < prof.samples.length; i++) {
    const node = byId.get(prof.samples[i]);
    const us = dt[i] ?? 0;
    at += us;
    if (at < fromUs || at > toUs) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    if (functionName === '(idle)' || functionName === '(program)') continue;
    total += us;
    const fn = `${functionName || '(anonymous)'} ${fileOf(url)}:${lineNumber + 1}`;
    selfByFn.set(fn, (selfByFn.get(fn) ?? 0) + us);
    const area = functionName === '(garbage collector)' ? '(garbage collector)' : areaOf(url);
    selfByArea.set(area, (selfByArea.get(area) ?? 0) + us);
  }
}

const top = (m, n) =>
  [...m.entries()]
    .sort((x, y) => y[1] - x[1])
    .slice(0, n)
    .map(
      ([k, us]) =>
        `${((100 * us) / total).toFixed(1).padStart(5)}%  ${(us / 1e6).toFixed(2).padStart(6)} s  ${k}`,
    )
    .join('\n');

process.stdout.write(`busy CPU time: ${(total / 1e6).toFixed(2)} s\n\nby area:\n${top(selfByArea, 25)}\n\n`);
process.stdout.write(`by function (self time):\n${top(selfByFn, 40)}\n`);
