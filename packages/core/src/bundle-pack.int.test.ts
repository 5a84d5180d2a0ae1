import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BundlePackError, packBundle } from './bundle-pack.js';

let root: string;
let app: string;

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'hangar-pack-test-'));
  app = join(root, 'app');
  mkdirSync(join(app, 'src'), { recursive: true });
  writeFileSync(join(app, 'hangar.json'), '{}');
  writeFileSync(join(app, 'src', 'main.js'), 'console.log(1)');
  writeFileSync(join(app, 'run.sh'), '#!/bin/sh\n');
  chmodSync(join(app, 'run.sh'), 0o755);
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

async function packed(dir = app) {
  const p = await packBundle(dir);
  await p.remove();
  return p;
}

async function refusal(dir = app): Promise<string> {
  const err = await packBundle(dir).then(
    () => null,
    (e: unknown) => e,
  );
  if (!(err instanceof BundlePackError)) throw new Error(`expected a BundlePackError, got ${String(err)}`);
  return err.message;
}

describe('packBundle', () => {
  it('gives the same digest for the same tree whatever the mtimes and group/other mode bits', async () => {
    const first = await packed();
    utimesSync(join(app, 'src', 'main.js'), new Date(2020, 1, 1), new Date(2020, 1, 1));
    chmodSync(join(app, 'hangar.json'), 0o664);
    chmodSync(join(app, 'run.sh'), 0o775);
    expect((await packed()).digest).toBe(first.digest);
    writeFileSync(join(app, 'src', 'main.js'), 'console.log(2)');
    expect((await packed()).digest).not.toBe(first.digest);
  });

  it('writes sorted entries with fixed owner, mtime and normalised modes, and in-tree links', async () => {
    symlinkSync(join(app, 'src', 'main.js'), join(app, 'main-link'));
    const p = await packBundle(app);
    try {
      expect(p.paths).toEqual(['hangar.json', 'main-link', 'run.sh', 'src/', 'src/main.js']);
      const listing = execFileSync('tar', ['tvzf', p.file, '--numeric-owner'], { encoding: 'utf8' });
      expect(listing).toMatch(/^-rw-r--r-- 0\/0 .* 2000-01-01 00:00 \.\/hangar\.json$/m);
      expect(listing).toMatch(/^-rwxr-xr-x 0\/0 .* \.\/run\.sh$/m);
      expect(listing).toMatch(/\.\/main-link -> src\/main\.js$/m);
    } finally {
      await p.remove();
    }
  });

  it('honours .gitignore and .hangarignore in every folder and always leaves out .git/', async () => {
    mkdirSync(join(app, '.git'));
    writeFileSync(join(app, '.git', 'HEAD'), '');
    writeFileSync(join(app, '.gitignore'), 'node_modules/\n*.tmp\n');
    writeFileSync(join(app, '.hangarignore'), '!node_modules/\nsecrets/\n');
    mkdirSync(join(app, 'node_modules', 'dep'), { recursive: true });
    writeFileSync(join(app, 'node_modules', 'dep', 'index.js'), '');
    mkdirSync(join(app, 'secrets'));
    writeFileSync(join(app, 'secrets', 'key'), '');
    writeFileSync(join(app, 'a.tmp'), '');
    writeFileSync(join(app, 'src', '.gitignore'), 'gen.js\n');
    writeFileSync(join(app, 'src', 'gen.js'), '');
    expect((await packed()).paths).toEqual([
      '.gitignore',
      '.hangarignore',
      'hangar.json',
      'node_modules/',
      'node_modules/dep/',
      'node_modules/dep/index.js',
      'run.sh',
      'src/',
      'src/.gitignore',
      'src/main.js',
    ]);
  });

  it('refuses links out of the folder, dangling links, links to ignored paths and FIFOs, naming them', async () => {
    symlinkSync('/etc/passwd', join(app, 'src', 'passwd'));
    expect(await refusal()).toBe('symlink "src/passwd" points outside the directory or to nothing');
    rmSync(join(app, 'src', 'passwd'));
    symlinkSync('../../outside', join(app, 'src', 'up'));
    expect(await refusal()).toMatch(/symlink "src\/up" points outside/);
    rmSync(join(app, 'src', 'up'));
    writeFileSync(join(app, '.gitignore'), 'private.txt\n');
    writeFileSync(join(app, 'private.txt'), '');
    symlinkSync('private.txt', join(app, 'public.txt'));
    expect(await refusal()).toMatch(
      /symlink "public.txt" points to "private.txt", which the ignore rules leave out/,
    );
    rmSync(join(app, 'public.txt'));
    execFileSync('mkfifo', [join(app, 'pipe')]);
    expect(await refusal()).toBe('"pipe" is a FIFO; a bundle holds only files, folders and symlinks');
  });

  it('refuses a folder over the entry and unpacked-size caps before writing anything big', async () => {
    const few = await packBundle(app, { limits: { maxFiles: 2 } }).catch((e: Error) => e.message);
    expect(few).toMatch(/more than 2 entries/);
    writeFileSync(join(app, 'big.bin'), Buffer.alloc(2048));
    const big = await packBundle(app, { limits: { maxUnpackedBytes: 1024 } }).catch((e: Error) => e.message);
    expect(big).toMatch(/exceed the 1024-byte cap/);
    const compressed = await packBundle(app, { limits: { maxBytes: 10 } }).catch((e: Error) => e.message);
    expect(compressed).toMatch(/over the 10-byte cap/);
  });
});
