import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PlatformError } from '@hangar/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openRoot, resolveEntryInRoot, resolveInRoot } from './safe-path.js';

let dir: string;
let root: string;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'hangar-safe-'));
  mkdirSync(join(dir, 'outside'));
  writeFileSync(join(dir, 'outside', 'secret.txt'), 'secret');
  root = await openRoot(join(dir, 'root'));
  mkdirSync(join(root, 'sub'));
  writeFileSync(join(root, 'sub', 'a.txt'), 'a');
  symlinkSync(join(dir, 'outside'), join(root, 'escape'));
  symlinkSync(join(dir, 'outside', 'secret.txt'), join(root, 'secret-link'));
  symlinkSync(join(root, 'sub'), join(root, 'inner'));
  symlinkSync(join(dir, 'nowhere'), join(root, 'dangling'));
  symlinkSync('loop', join(root, 'loop'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

async function refusal(p: Promise<unknown>): Promise<string> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  return err instanceof PlatformError ? err.code : `no PlatformError: ${String(err)}`;
}

describe('resolveInRoot', () => {
  it('resolves existing and missing paths inside the root', async () => {
    expect(await resolveInRoot(root, ['sub', 'a.txt'])).toEqual({
      abs: join(root, 'sub', 'a.txt'),
      rel: 'sub/a.txt',
      exists: true,
    });
    expect(await resolveInRoot(root, ['sub', 'new', 'b.txt'])).toEqual({
      abs: join(root, 'sub', 'new', 'b.txt'),
      rel: 'sub/new/b.txt',
      exists: false,
    });
    expect((await resolveInRoot(root, [])).abs).toBe(root);
  });

  it('follows symlinks that stay inside the root', async () => {
    expect((await resolveInRoot(root, ['inner', 'a.txt'])).abs).toBe(join(root, 'sub', 'a.txt'));
    expect((await resolveInRoot(root, ['inner', 'missing'])).abs).toBe(join(root, 'sub', 'missing'));
  });

  it.each([
    [['escape']],
    [['escape', 'secret.txt']],
    [['escape', 'new-file']],
    [['escape', 'new', 'deeper']],
    [['secret-link']],
    [['dangling']],
    [['dangling', 'x']],
    [['loop']],
  ])('refuses %j, which leaves the root', async (segments) => {
    expect(await refusal(resolveInRoot(root, segments))).toBe('FILES_PATH_INVALID');
  });

  it('treats a file used as a folder as missing', async () => {
    const r = await resolveInRoot(root, ['sub', 'a.txt', 'x']);
    expect(r.exists).toBe(false);
  });
});

describe('resolveEntryInRoot', () => {
  it('never follows the last segment, so a link is acted on as a link', async () => {
    expect(await resolveEntryInRoot(root, ['secret-link'])).toEqual({
      abs: join(root, 'secret-link'),
      rel: 'secret-link',
      exists: true,
    });
    expect((await resolveEntryInRoot(root, ['dangling'])).exists).toBe(true);
  });
  it('still refuses parents that leave the root', async () => {
    expect(await refusal(resolveEntryInRoot(root, ['escape', 'secret.txt']))).toBe('FILES_PATH_INVALID');
  });
});
