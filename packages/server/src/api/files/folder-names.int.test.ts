import { mkdirSync, mkdtempSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DirHandle } from './dir-handle.js';
import { createFolderNames, SETTLE_MS } from './folder-names.js';

// The cache of folders' sorted names, on a real folder. A clock set SETTLE_MS past now makes every
// folder look settled, so its names are cached; the real clock shows that a folder changed moments
// ago is read afresh every time.

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'hangar-names-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const later = () => Date.now() + SETTLE_MS + 60_000;

async function readAs(names: ReturnType<typeof createFolderNames>, owner: string, path = dir) {
  const handle = await DirHandle.open(path);
  try {
    return await names.read(owner, handle);
  } finally {
    await handle.close();
  }
}

/** Changes the folder (a create and a remove) until its ctime differs from `before`. */
function touchFolder(before: bigint) {
  for (let i = 0; statSync(dir, { bigint: true }).ctimeNs === before; i++) {
    writeFileSync(join(dir, `.hangar-tmp-touch${i}`), '');
    unlinkSync(join(dir, `.hangar-tmp-touch${i}`));
  }
}

describe('folder names', () => {
  it('answers files and folders in key order, without temporary entries', async () => {
    for (const f of ['a-b', 'a.txt', 'a0', 'b', '.hangar-tmp-x']) writeFileSync(join(dir, f), '');
    mkdirSync(join(dir, 'a'));
    expect(await readAs(createFolderNames(1 << 20), 'alice')).toEqual(['a-b', 'a.txt', 'a/', 'a0', 'b']);
  });

  it('reuses the names of a settled folder until its ctime changes', async () => {
    writeFileSync(join(dir, 'one'), '');
    const names = createFolderNames(1 << 20, later);
    const first = await readAs(names, 'alice');
    expect(await readAs(names, 'alice')).toBe(first);
    touchFolder(statSync(dir, { bigint: true }).ctimeNs);
    writeFileSync(join(dir, 'two'), '');
    const second = await readAs(names, 'alice');
    expect(second).toEqual(['one', 'two']);
    unlinkSync(join(dir, 'one'));
    expect(await readAs(names, 'alice')).toEqual(['two']);
  });

  it('never caches a folder changed within SETTLE_MS, so a change in the same clock tick is seen', async () => {
    writeFileSync(join(dir, 'one'), '');
    const names = createFolderNames(1 << 20);
    const first = await readAs(names, 'alice');
    // Created straight after the read: the folder's times may well be unchanged at their granularity.
    writeFileSync(join(dir, 'two'), '');
    const second = await readAs(names, 'alice');
    expect(second).not.toBe(first);
    expect(second).toEqual(['one', 'two']);
    unlinkSync(join(dir, 'one'));
    expect(await readAs(names, 'alice')).toEqual(['two']);
  });

  it('keeps owners apart, stays within its budget and drops the least recently used folder', async () => {
    const other = join(dir, 'other');
    const third = join(dir, 'third');
    for (const d of [other, third]) {
      mkdirSync(d);
      writeFileSync(join(d, 'f'), '');
    }
    // Room for two one-name folders (each name costs 2 × length + 56).
    const names = createFolderNames(2 * 60, later);
    const alice = await readAs(names, 'alice', other);
    const bob = await readAs(names, 'bob', other);
    expect(bob).not.toBe(alice);
    expect(bob).toEqual(alice);
    expect(await readAs(names, 'alice', other)).toBe(alice);
    // A third folder makes room by dropping bob's entry, now the least recently used.
    await readAs(names, 'alice', third);
    expect(await readAs(names, 'alice', other)).toBe(alice);
    expect(await readAs(names, 'bob', other)).not.toBe(bob);
  });

  it('does not cache a folder larger than the budget, or anything with a budget of 0', async () => {
    for (let i = 0; i < 10; i++) writeFileSync(join(dir, `file${i}`), '');
    for (const budget of [100, 0]) {
      const names = createFolderNames(budget, later);
      const first = await readAs(names, 'alice');
      expect(first).toHaveLength(10);
      expect(await readAs(names, 'alice')).not.toBe(first);
    }
  });
});
