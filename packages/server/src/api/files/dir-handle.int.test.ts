import {
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PlatformError } from '@hangar/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DESCRIPTOR_PATHS, type DirHandle, openDir, openExistingDir, openRoot } from './dir-handle.js';

let dir: string;
let rootPath: string;
let root: DirHandle;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'hangar-dirs-'));
  mkdirSync(join(dir, 'outside'));
  writeFileSync(join(dir, 'outside', 'secret.txt'), 'secret');
  rootPath = join(dir, 'root');
  root = await openRoot(rootPath, null);
  mkdirSync(join(rootPath, 'sub'));
  writeFileSync(join(rootPath, 'sub', 'a.txt'), 'a');
  symlinkSync(join(dir, 'outside'), join(rootPath, 'escape'));
  symlinkSync(join(rootPath, 'sub'), join(rootPath, 'inner'));
  symlinkSync('loop', join(rootPath, 'loop'));
});
afterEach(async () => {
  await root.close();
  rmSync(dir, { recursive: true, force: true });
});

async function refusal(p: Promise<unknown>): Promise<string> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  return err instanceof PlatformError ? err.code : `no PlatformError: ${String(err)}`;
}

async function names(handle: DirHandle | null): Promise<string[]> {
  if (!handle) return [];
  try {
    return (await readdir(handle.path)).sort();
  } finally {
    await handle.close();
  }
}

describe('openDir', () => {
  it('resolves names through descriptors on Linux', () => {
    expect(DESCRIPTOR_PATHS).toBe(process.platform === 'linux');
  });

  it('opens existing folders and answers null for missing ones or a file in the way', async () => {
    expect(await names(await openDir(root, ['sub'], false))).toEqual(['a.txt']);
    expect(await openDir(root, ['nope', 'deeper'], false)).toBeNull();
    expect(await openDir(root, ['sub', 'a.txt'], false)).toBeNull();
    expect(await names(await openDir(root, [], false))).toEqual(['escape', 'inner', 'loop', 'sub']);
  });

  it('creates missing folders, refusing a file in the way', async () => {
    expect(await names(await openDir(root, ['sub', 'new', 'deeper'], true))).toEqual([]);
    expect(lstatSync(join(rootPath, 'sub/new/deeper')).isDirectory()).toBe(true);
    expect(await refusal(openDir(root, ['sub', 'a.txt', 'x'], true))).toBe('FILES_NOT_A_DIRECTORY');
  });

  it.each([[['escape']], [['escape', 'x']], [['inner']], [['inner', 'a.txt']], [['loop']]])(
    'never follows a link, even one that stays inside the root: %j',
    async (segments) => {
      expect(await refusal(openDir(root, segments, false))).toBe('FILES_PATH_INVALID');
      expect(await refusal(openDir(root, segments, true))).toBe('FILES_PATH_INVALID');
    },
  );

  it('keeps working in the opened folder when its path is swapped for a link', async () => {
    const sub = await openDir(root, ['sub'], false);
    expect(sub).not.toBeNull();
    const handle = sub as DirHandle;
    try {
      renameSync(join(rootPath, 'sub'), join(rootPath, 'parked'));
      symlinkSync(join(dir, 'outside'), join(rootPath, 'sub'));
      writeFileSync(handle.at('landed.txt'), 'x');
      if (DESCRIPTOR_PATHS) {
        expect(readdirSync(join(rootPath, 'parked')).sort()).toEqual(['a.txt', 'landed.txt']);
        expect(readdirSync(join(dir, 'outside'))).toEqual(['secret.txt']);
      }
    } finally {
      await handle.close();
    }
  });
});

describe('openExistingDir', () => {
  it('tells a missing folder from a file and refuses a link', async () => {
    expect(await openExistingDir(root, ['nope'])).toBe('missing');
    expect(await openExistingDir(root, ['sub', 'a.txt'])).toBe('file');
    expect(await refusal(openExistingDir(root, ['escape']))).toBe('FILES_PATH_INVALID');
  });
});
