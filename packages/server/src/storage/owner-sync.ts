import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { open, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { type FileStore, isObjectKey, isOpened, StoreUnavailable } from '@hangar/core';
import type { DirHandle, OwnerIds } from '../api/files/dir-handle.js';
import { changedFiles, planSync, type SyncAction, type SyncedFile } from './owner-sync-plan.js';
import { ensureRoot, listOwner, loadManifest, saveManifest } from './owner-sync-state.js';
import {
  currentSig,
  type FileSig,
  knownAbsent,
  makeFolder,
  openCacheFile,
  openCacheRoot,
  placeFile,
  removeFile,
  scanTree,
} from './owner-sync-tree.js';

/** The logger calls the sync makes (pino's shape). */
interface SyncLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

/** What {@link createOwnerSync} needs. */
export interface OwnerSyncDeps {
  objects: FileStore;
  /** `HANGAR_HOME/cache`: `files/<owner>/` are the runners' DATA_DIRs, `sync/` the manifests (server-private). */
  cacheRoot: string;
  /** The sandbox uid an owner's files belong to (null without the sandbox). */
  ownerIds?: (owner: string) => OwnerIds | null;
  /** The owner's Files quota (`limits.storage_quota_*`, or its `storage_quotas` entry). */
  limitsFor: (owner: string) => { bytes: number; files: number };
  /** How often the cache of an owner with running runners is synced. */
  intervalMs: number;
  logger: SyncLogger;
  /** At most this many files, and this many bytes (but always one file), published per sync. */
  maxUploadFiles?: number;
  maxUploadBytes?: number;
  /** Entries one walk of a cache visits at most (beyond, absent files are not taken as deleted). */
  maxScanEntries?: number;
}

/** What one sync did. */
export interface SyncReport {
  downloaded: string[];
  uploaded: string[];
  removedLocal: string[];
  removedRemote: string[];
  /** Files left unpublished, and why (quota, a name that cannot be a key). */
  refused: Array<{ path: string; reason: string }>;
  /** Why the sync stopped early (the store unreachable), else null. Local files are kept. */
  failed: string | null;
}

/** Runners' DATA_DIRs kept in step with the owners' `files/<owner>/` prefixes. */
export interface OwnerSync {
  /** The cache folder that is `owner`'s DATA_DIR on this node. */
  dataDir(owner: string): string;
  /** A runner of `owner` is about to start: syncs the cache (once for runners starting together). */
  acquire(owner: string): Promise<string>;
  /** A runner of `owner` ended: the last one's end publishes every change without waiting. */
  release(owner: string): void;
  /** Syncs now (after any sync in progress); `final` publishes changed files without waiting. */
  sync(owner: string, opts?: { final?: boolean }): Promise<SyncReport>;
  /**
   * The owner's files changed in the store through this node (the Files API): when runners of `owner`
   * run here, syncs their cache soon instead of at the next interval. Calls while a sync is queued join
   * it; without runners here it does nothing (the next runner's start syncs).
   */
  refresh(owner: string): void;
  /** Stops the periodic syncs and waits for those in progress (final ones included). */
  close(): Promise<void>;
}

interface OwnerState {
  holders: number;
  timer: NodeJS.Timeout | null;
  manifest: Map<string, SyncedFile>;
  /** The cache folder the manifest describes (device, inode, birth): a new folder starts with no manifest. */
  rootId: string;
  previous: Map<string, FileSig>;
  running: Promise<SyncReport> | null;
  queued: Promise<SyncReport> | null;
  queuedFinal: boolean;
  /** Set when the manifest changed since it was last written. */
  dirty: boolean;
  /** Refusals already logged (path → signature), so a waiting file is reported once per version. */
  refusedLogged: Map<string, FileSig>;
}

/** Creates the sync of owners' caches with the store (see docs/apps.md, "Files and DATA_DIR"). */
export function createOwnerSync(deps: OwnerSyncDeps): OwnerSync {
  const filesRoot = join(deps.cacheRoot, 'files');
  const stateDir = join(deps.cacheRoot, 'sync');
  const tmpDir = join(stateDir, 'tmp');
  mkdirSync(filesRoot, { recursive: true, mode: 0o755 });
  mkdirSync(tmpDir, { recursive: true, mode: 0o700 });
  const limits = {
    uploadFiles: deps.maxUploadFiles ?? 100,
    uploadBytes: deps.maxUploadBytes ?? 1024 ** 3,
    scanEntries: deps.maxScanEntries ?? 2_000_000,
  };
  const states = new Map<string, OwnerState>();
  let closed = false;

  const dataDir = (owner: string) => join(filesRoot, owner);
  const manifestPath = (owner: string) => join(stateDir, `${owner}.json`);

  function stateOf(owner: string): OwnerState {
    let state = states.get(owner);
    if (!state) {
      state = {
        holders: 0,
        timer: null,
        ...loadManifest(manifestPath(owner)),
        previous: new Map(),
        running: null,
        queued: null,
        queuedFinal: false,
        dirty: false,
        refusedLogged: new Map(),
      };
      states.set(owner, state);
    }
    return state;
  }

  function schedule(owner: string, state: OwnerState, final: boolean): Promise<SyncReport> {
    if (!state.running) {
      state.running = runSync(owner, state, final).finally(() => {
        state.running = null;
      });
      return state.running;
    }
    state.queuedFinal ||= final;
    state.queued ??= state.running.then(() => {
      const f = state.queuedFinal;
      state.queued = null;
      state.queuedFinal = false;
      return schedule(owner, state, f);
    });
    return state.queued;
  }

  async function runSync(owner: string, state: OwnerState, final: boolean): Promise<SyncReport> {
    const report: SyncReport = {
      downloaded: [],
      uploaded: [],
      removedLocal: [],
      removedRemote: [],
      refused: [],
      failed: null,
    };
    const ids = deps.ownerIds?.(owner) ?? null;
    let root: DirHandle;
    try {
      const rootId = ensureRoot(dataDir(owner), ids);
      if (rootId !== state.rootId) {
        // The cache folder was removed or replaced: its files are fetched again, none counts as deleted.
        state.manifest = new Map();
        state.previous = new Map();
        state.rootId = rootId;
        state.dirty = true;
      }
      root = await openCacheRoot(dataDir(owner));
    } catch (err) {
      report.failed = `cache unavailable: ${(err as Error).message}`;
      return report;
    }
    try {
      await syncTree(owner, state, final, root, ids, report);
    } catch (err) {
      report.failed = err instanceof StoreUnavailable ? 'object storage unavailable' : (err as Error).message;
    } finally {
      await root.close();
      if (state.dirty) {
        try {
          saveManifest(manifestPath(owner), state.rootId, state.manifest);
          state.dirty = false;
        } catch (err) {
          report.failed ??= `manifest not written: ${(err as Error).message}`;
        }
      }
    }
    if (report.failed !== null) {
      deps.logger.warn({ owner, reason: report.failed }, 'runner cache sync stopped; it is retried');
    }
    return report;
  }

  async function syncTree(
    owner: string,
    state: OwnerState,
    final: boolean,
    root: DirHandle,
    ids: OwnerIds | null,
    report: SyncReport,
  ): Promise<void> {
    const scan = await scanTree(root, limits.scanEntries);
    const { remote, folders } = await listOwner(deps.objects, owner);
    const actions = planSync({
      local: scan.files,
      knownAbsent: (path) => knownAbsent(scan, path),
      manifest: state.manifest,
      remote,
      previous: state.previous,
      final,
    });
    state.previous = changedFiles(scan.files, state.manifest);
    for (const folder of folders) await makeFolder(root, folder, ids);
    const usage = { bytes: 0, files: remote.size + folders.length };
    for (const r of remote.values()) usage.bytes += r.bytes;
    const sent = { files: 0, bytes: 0 };
    for (const action of actions) {
      if (action.kind === 'upload') {
        if (sent.files >= limits.uploadFiles) continue;
        if (sent.files > 0 && sent.bytes + action.size > limits.uploadBytes) continue;
        if (await upload(owner, state, root, action, usage, report)) {
          sent.files++;
          sent.bytes += action.size;
        }
      } else {
        await apply(owner, state, root, ids, action, report);
      }
    }
  }

  async function apply(
    owner: string,
    state: OwnerState,
    root: DirHandle,
    ids: OwnerIds | null,
    action: Exclude<SyncAction, { kind: 'upload' }>,
    report: SyncReport,
  ): Promise<void> {
    const key = `files/${owner}/${action.path}`;
    state.dirty = true;
    switch (action.kind) {
      case 'download': {
        const placed = await download(key, root, action.path, action.expect, ids);
        if (placed) {
          state.manifest.set(action.path, placed);
          report.downloaded.push(action.path);
        }
        return;
      }
      case 'delete-local':
        if (await removeFile(root, action.path, action.sig)) {
          state.manifest.delete(action.path);
          report.removedLocal.push(action.path);
        }
        return;
      case 'delete-remote':
        await deps.objects.delete(key);
        state.manifest.delete(action.path);
        report.removedRemote.push(action.path);
        return;
      case 'forget':
        state.manifest.delete(action.path);
    }
  }

  /** Streams the object to a private temporary file, then renames it into the cache. */
  async function download(
    key: string,
    root: DirHandle,
    path: string,
    expect: FileSig | null,
    ids: OwnerIds | null,
  ): Promise<SyncedFile | null> {
    const opened = await deps.objects.open(key);
    if (!isOpened(opened)) return null;
    const tmp = join(tmpDir, randomUUID());
    try {
      const fh = await open(tmp, 'wx', 0o644);
      let bytes = 0;
      try {
        for await (const chunk of opened.body) {
          bytes += chunk.byteLength;
          await fh.write(chunk);
        }
        if (ids) await fh.chown(ids.uid, ids.gid);
      } finally {
        await fh.close();
      }
      if (bytes !== opened.info.bytes) throw new StoreUnavailable(`short read of ${key}`);
      const placed = await placeFile(root, path, tmp, expect, ids);
      if (placed === 'changed' || placed === 'blocked') return null;
      return { etag: opened.info.etag, sig: placed };
    } finally {
      await rm(tmp, { force: true });
    }
  }

  /** Publishes one file if the quota allows; true when it was sent. */
  async function upload(
    owner: string,
    state: OwnerState,
    root: DirHandle,
    action: Extract<SyncAction, { kind: 'upload' }>,
    usage: { bytes: number; files: number },
    report: SyncReport,
  ): Promise<boolean> {
    const key = `files/${owner}/${action.path}`;
    const dBytes = action.size - (action.replaces?.bytes ?? 0);
    const dFiles = action.replaces ? 0 : 1;
    const quota = deps.limitsFor(owner);
    let reason: string | null = null;
    if (!isObjectKey(key))
      reason = 'its name cannot be stored (too long, or a backslash or control character)';
    else if (dBytes > 0 && usage.bytes + dBytes > quota.bytes) {
      reason = `storage quota exceeded (${quota.bytes} bytes allowed)`;
    } else if (dFiles > 0 && usage.files + dFiles > quota.files) {
      reason = `storage quota exceeded (${quota.files} files allowed)`;
    }
    if (reason !== null) {
      report.refused.push({ path: action.path, reason });
      if (state.refusedLogged.get(action.path) !== action.sig) {
        state.refusedLogged.set(action.path, action.sig);
        deps.logger.warn({ owner, path: action.path, reason }, 'file a runner wrote is not published');
      }
      return false;
    }
    const file = await openCacheFile(root, action.path, action.sig);
    if (!file) return false;
    try {
      const info = await deps.objects.put(key, file.body, {});
      state.manifest.set(action.path, { etag: info.etag, sig: action.sig });
      state.dirty = true;
      state.refusedLogged.delete(action.path);
    } catch (err) {
      // Written to while it was read: nothing was kept, and the next walks publish it once stable.
      if ((await currentSig(root, action.path)) !== action.sig) return false;
      throw err;
    } finally {
      await file.close();
    }
    usage.bytes += dBytes;
    usage.files += dFiles;
    report.uploaded.push(action.path);
    return true;
  }

  return {
    dataDir,
    async acquire(owner) {
      if (closed) throw new Error('the runner cache sync is closed');
      const state = stateOf(owner);
      state.holders++;
      await (state.running ?? schedule(owner, state, false));
      if (state.holders > 0 && !state.timer && !closed) {
        state.timer = setInterval(() => {
          if (!state.running) void schedule(owner, state, false);
        }, deps.intervalMs);
        state.timer.unref();
      }
      return dataDir(owner);
    },
    release(owner) {
      const state = states.get(owner);
      if (!state || state.holders === 0) return;
      state.holders--;
      if (state.holders > 0) return;
      if (state.timer) clearInterval(state.timer);
      state.timer = null;
      void schedule(owner, state, true);
    },
    sync(owner, opts = {}) {
      const state = stateOf(owner);
      return schedule(owner, state, opts.final ?? false);
    },
    refresh(owner) {
      const state = states.get(owner);
      if (closed || !state || state.holders === 0) return;
      // A sync already queued starts after the one running, so it sees this change: join it.
      if (state.queued) return;
      void schedule(owner, state, false).catch(() => undefined);
    },
    async close() {
      closed = true;
      for (const state of states.values()) {
        if (state.timer) clearInterval(state.timer);
        state.timer = null;
      }
      for (;;) {
        const pending = [...states.values()].map((s) => s.queued ?? s.running).filter((p) => p !== null);
        if (pending.length === 0) return;
        await Promise.all(pending);
      }
    },
  };
}
