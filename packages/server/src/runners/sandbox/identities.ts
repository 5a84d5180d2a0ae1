import {
  chmodSync,
  type Dirent,
  lchownSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  renameSync,
  writeFileSync,
} from 'node:fs';
import { lchown, lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { identityFiles } from './plan.js';

/** The host user a sandboxed owner's runners run as. */
export interface OwnerIdentity {
  uid: number;
  gid: number;
  /** Files holding this identity's synthetic `/etc/passwd` and `/etc/group`. */
  passwdFile: string;
  groupFile: string;
}

/**
 * Gives every owner its own unprivileged host uid (gid equal), allocated once from `uidBase` upwards
 * and kept in `dir/uids.json`, so an owner keeps its uid across restarts and no two owners share one.
 */
export interface OwnerIdentities {
  forOwner(owner: string): OwnerIdentity;
  /**
   * Makes `dataDir` the owner's: created if missing, mode 0700, and (once per server process) every
   * entry under it owned by the owner's uid. Links are re-owned themselves, never followed.
   */
  prepareDataDir(owner: string, dataDir: string): Promise<void>;
}

/** Opens the allocation table under `dir` (created 0700 if missing). */
export function openOwnerIdentities(dir: string, uidBase: number): OwnerIdentities {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const tablePath = join(dir, 'uids.json');
  const table = readTable(tablePath);
  /** The one-time tree fix per data dir; every start awaits it, so no runner of the owner runs meanwhile. */
  const prepared = new Map<string, Promise<void>>();

  function forOwner(owner: string): OwnerIdentity {
    let uid = table[owner];
    if (uid === undefined) {
      uid = Math.max(uidBase, ...Object.values(table).map((u) => u + 1));
      table[owner] = uid;
      const tmp = `${tablePath}.${process.pid}.tmp`;
      writeFileSync(tmp, `${JSON.stringify(table, null, 2)}\n`, { mode: 0o600 });
      renameSync(tmp, tablePath);
    }
    const etc = join(dir, 'etc', String(uid));
    const passwdFile = join(etc, 'passwd');
    const groupFile = join(etc, 'group');
    const files = identityFiles(uid, uid);
    mkdirSync(etc, { recursive: true, mode: 0o755 });
    if (readOrNull(passwdFile) !== files.passwd) writeFileSync(passwdFile, files.passwd, { mode: 0o644 });
    if (readOrNull(groupFile) !== files.group) writeFileSync(groupFile, files.group, { mode: 0o644 });
    return { uid, gid: uid, passwdFile, groupFile };
  }

  return {
    forOwner,
    async prepareDataDir(owner, dataDir) {
      const { uid, gid } = forOwner(owner);
      mkdirSync(dataDir, { recursive: true, mode: 0o700 });
      const top = lstatSync(dataDir);
      if (top.uid !== uid || top.gid !== gid) lchownSync(dataDir, uid, gid);
      if ((top.mode & 0o777) !== 0o700) chmodSync(dataDir, 0o700);
      let fix = prepared.get(dataDir);
      if (!fix) {
        fix = chownTree(dataDir, uid, gid);
        prepared.set(dataDir, fix);
      }
      await fix;
    },
  };
}

/** Re-owns every entry below `dir` that is not already the owner's; never follows a link. */
async function chownTree(dir: string, uid: number, gid: number): Promise<void> {
  let entries: Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const entry of entries) {
    const path = join(dir, entry.name);
    try {
      const info = await lstat(path);
      if (info.uid !== uid || info.gid !== gid) await lchown(path, uid, gid);
      if (info.isDirectory()) await chownTree(path, uid, gid);
    } catch {
      // removed meanwhile
    }
  }
}

function readTable(path: string): Record<string, number> {
  const text = readOrNull(path);
  if (text === null) return {};
  const parsed = JSON.parse(text) as unknown;
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed))
    throw new Error(`${path} is not a JSON object`);
  const table: Record<string, number> = {};
  for (const [owner, uid] of Object.entries(parsed)) {
    if (Number.isInteger(uid) && (uid as number) > 0) table[owner] = uid as number;
  }
  return table;
}

function readOrNull(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}
