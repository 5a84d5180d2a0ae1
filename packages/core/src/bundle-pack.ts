// Node-only (exported as `@hangar/core/bundle`, never from the browser-safe index): packs an app
// directory into the deterministic gzip'd tar that `POST /v1/serverless/bundles` takes.
import { createHash } from 'node:crypto';
import { createReadStream, type Stats } from 'node:fs';
import { lstat, mkdtemp, readdir, readFile, realpath, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative, resolve, sep } from 'node:path';
import ignore, { type Ignore } from 'ignore';
import { create } from 'tar';
import { type BundleLimits, DEFAULT_BUNDLE_LIMITS } from './bundle-rules.js';

/** Ignore files read in every directory of the tree; `.hangarignore` rules win over `.gitignore`. */
export const IGNORE_FILES = ['.gitignore', '.hangarignore'] as const;

/** Every entry gets this mtime, so the same tree always gives the same bytes. */
const FIXED_MTIME = new Date('2000-01-01T00:00:00Z');

/** A directory that cannot be packed (a link out, a special file, over a cap); the message names the entry. */
export class BundlePackError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BundlePackError';
  }
}

/** A packed bundle in a temporary file; call `remove` when done with it. */
export interface PackedBundle {
  file: string;
  /** `sha256:<hex>` of the file. */
  digest: string;
  /** Compressed size. */
  bytes: number;
  /** Entries (files, directories, symlinks). */
  entries: number;
  unpackedBytes: number;
  /** Relative paths in archive order (directories end with `/`). */
  paths: string[];
  remove(): Promise<void>;
}

/** Options of `packBundle`. */
export interface PackOptions {
  limits?: Partial<BundleLimits>;
  /** Where the temporary archive is written (the system temp dir by default). */
  tmpDir?: string;
}

interface Rules {
  /** Directory the rules were read in, relative to the root ('' for the root). */
  base: string;
  ig: Ignore;
}

interface Walk {
  root: string;
  realRoot: string;
  limits: BundleLimits;
  paths: string[];
  stats: Map<string, Stats>;
  /** Symlink path → its target rewritten relative to the link's folder. */
  links: Map<string, { target: string; real: string }>;
  unpackedBytes: number;
}

/**
 * Packs `dir` deterministically (sorted entries, fixed mtime, no owner, modes 0755/0644): honours
 * `.gitignore` and `.hangarignore` in every folder, always leaves out `.git/`, and refuses symlinks that
 * leave the directory (or point at nothing, or at an excluded path), special files, and trees over the caps.
 */
export async function packBundle(dir: string, opts: PackOptions = {}): Promise<PackedBundle> {
  const limits = { ...DEFAULT_BUNDLE_LIMITS, ...opts.limits };
  const root = resolve(dir);
  const info = await stat(root).catch(() => null);
  if (!info?.isDirectory()) throw new BundlePackError(`${dir} is not a directory`);
  const w: Walk = {
    root,
    realRoot: await realpath(root),
    limits,
    paths: [],
    stats: new Map(),
    links: new Map(),
    unpackedBytes: 0,
  };
  await walk(w, '', []);
  checkLinkTargets(w);
  const work = await mkdtemp(join(opts.tmpDir ?? tmpdir(), 'hangar-pack-'));
  const remove = () => rm(work, { recursive: true, force: true });
  try {
    const file = join(work, 'bundle.tar.gz');
    await create(
      {
        file,
        cwd: root,
        gzip: { level: 9 },
        portable: true,
        noDirRecurse: true,
        mtime: FIXED_MTIME,
        statCache: w.stats,
        onWriteEntry: (entry) => {
          const link = w.links.get(entry.path);
          if (link) entry.linkpath = link.target;
        },
      },
      w.paths.map((p) => `./${p}`),
    );
    const bytes = (await stat(file)).size;
    if (bytes > limits.maxBytes)
      throw new BundlePackError(
        `the bundle is ${bytes} bytes compressed, over the ${limits.maxBytes}-byte cap`,
      );
    const digest = `sha256:${await sha256File(file)}`;
    const paths = w.paths.map((p) => (w.stats.get(join(root, p))?.isDirectory() ? `${p}/` : p));
    return { file, digest, bytes, entries: w.paths.length, unpackedBytes: w.unpackedBytes, paths, remove };
  } catch (err) {
    await remove();
    throw err;
  }
}

async function walk(w: Walk, relDir: string, parentRules: Rules[]): Promise<void> {
  const abs = relDir ? join(w.root, relDir) : w.root;
  const local = await readRules(abs, relDir);
  const rules = local ? [...parentRules, local] : parentRules;
  const names = (await readdir(abs)).sort();
  for (const name of names) {
    if (name === '.git') continue;
    const rel = relDir ? `${relDir}/${name}` : name;
    const full = join(abs, name);
    const st = await lstat(full);
    if (isIgnored(rules, rel, st.isDirectory())) continue;
    if (w.paths.length >= w.limits.maxFiles)
      throw new BundlePackError(`the directory has more than ${w.limits.maxFiles} entries to bundle`);
    if (st.isSymbolicLink()) {
      w.links.set(`./${rel}`, await linkTarget(w, rel, full));
    } else if (st.isFile()) {
      w.unpackedBytes += st.size;
      if (w.unpackedBytes > w.limits.maxUnpackedBytes)
        throw new BundlePackError(`the files to bundle exceed the ${w.limits.maxUnpackedBytes}-byte cap`);
    } else if (!st.isDirectory()) {
      throw new BundlePackError(
        `"${rel}" is a ${kindOf(st)}; a bundle holds only files, folders and symlinks`,
      );
    }
    w.paths.push(rel);
    w.stats.set(full, normalised(st));
    if (st.isDirectory()) await walk(w, rel, rules);
  }
}

async function readRules(abs: string, base: string): Promise<Rules | null> {
  let ig: Ignore | null = null;
  for (const name of IGNORE_FILES) {
    const text = await readFile(join(abs, name), 'utf8').catch(() => null);
    if (text !== null) ig = (ig ?? ignore()).add(text);
  }
  return ig ? { base, ig } : null;
}

/** Deeper rule files override shallower ones; within one, the last matching rule wins (as git). */
function isIgnored(rules: Rules[], rel: string, isDir: boolean): boolean {
  let ignored = false;
  for (const r of rules) {
    const sub = r.base ? rel.slice(r.base.length + 1) : rel;
    const t = r.ig.test(isDir ? `${sub}/` : sub);
    if (t.ignored) ignored = true;
    else if (t.unignored) ignored = false;
  }
  return ignored;
}

/** The link's target, rewritten relative to its folder; refused unless it resolves inside the root. */
async function linkTarget(w: Walk, rel: string, full: string): Promise<{ target: string; real: string }> {
  const out = () => new BundlePackError(`symlink "${rel}" points outside the directory or to nothing`);
  const real = await realpath(full).catch(() => null);
  if (real === null || (real !== w.realRoot && !real.startsWith(w.realRoot + sep))) throw out();
  const folder = join(w.realRoot, ...rel.split('/').slice(0, -1));
  return { target: relative(folder, real).split(sep).join('/') || '.', real };
}

/** A link into a part of the tree the ignore rules left out would dangle once unpacked. */
function checkLinkTargets(w: Walk): void {
  const included = new Set(w.paths);
  for (const [link, { real }] of w.links) {
    const target = relative(w.realRoot, real).split(sep).join('/');
    if (target !== '' && !included.has(target))
      throw new BundlePackError(
        `symlink "${link.slice(2)}" points to "${target}", which the ignore rules leave out of the bundle`,
      );
  }
}

/** A copy of the stat with what the archive must not depend on fixed: mode, owner, times, link count. */
function normalised(st: Stats): Stats {
  const copy = Object.assign(Object.create(Object.getPrototypeOf(st) as object) as Stats, st);
  const exec = (st.mode & 0o111) !== 0;
  copy.mode = (st.mode & ~0o7777) | (st.isDirectory() || exec ? 0o755 : 0o644);
  copy.uid = 0;
  copy.gid = 0;
  copy.nlink = 1;
  copy.mtime = FIXED_MTIME;
  copy.atime = FIXED_MTIME;
  copy.ctime = FIXED_MTIME;
  return copy;
}

function kindOf(st: Stats): string {
  if (st.isFIFO()) return 'FIFO';
  if (st.isSocket()) return 'socket';
  if (st.isCharacterDevice()) return 'character device';
  if (st.isBlockDevice()) return 'block device';
  return 'special file';
}

async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
