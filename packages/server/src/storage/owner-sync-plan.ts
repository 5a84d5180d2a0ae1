import type { FileSig } from './owner-sync-tree.js';

/** An object of the owner's prefix, by its path below `files/<owner>/`. */
export interface RemoteFile {
  etag: string;
  bytes: number;
}

/** The manifest's record of a path: the local file (`sig`) was last in step with the object `etag`. */
export interface SyncedFile {
  etag: string;
  sig: FileSig;
}

/** One step of a sync, decided from the local walk, the manifest and the store's listing. */
export type SyncAction =
  /** Fetch the object; put it in place only while the local path is still `expect` (null: absent). */
  | { kind: 'download'; path: string; expect: FileSig | null }
  /** Publish the local file (`replaces`: the object it overwrites, for the quota). */
  | { kind: 'upload'; path: string; sig: FileSig; size: number; replaces: RemoteFile | null }
  /** The store deleted it and the local copy is unchanged since: remove the local file. */
  | { kind: 'delete-local'; path: string; sig: FileSig }
  /** The runner deleted a file it had from the store, unchanged there since: delete the object. */
  | { kind: 'delete-remote'; path: string }
  /** Gone on both sides: drop the manifest entry. */
  | { kind: 'forget'; path: string };

/** Everything a sync decides from. */
export interface SyncInputs {
  local: ReadonlyMap<string, { sig: FileSig; size: number }>;
  /** Whether an absent local path is known to be absent (a walk that was cut short or failed below). */
  knownAbsent: (path: string) => boolean;
  manifest: ReadonlyMap<string, SyncedFile>;
  remote: ReadonlyMap<string, RemoteFile>;
  /** Signatures the previous walk saw for changed files: a file is stable when it still has the same. */
  previous: ReadonlyMap<string, FileSig>;
  /** At runner stop: publish changed files without waiting for them to be stable. */
  final: boolean;
}

/**
 * Decides a sync. A local file unchanged since it was synced follows the store (new version fetched,
 * deletion applied); a new or changed local file is published once stable, even over a newer object
 * (last writer wins); a synced file the runner deleted is deleted in the store unless the store has a
 * newer version, which is fetched again.
 */
export function planSync(inputs: SyncInputs): SyncAction[] {
  const { local, manifest, remote } = inputs;
  const paths = new Set([...local.keys(), ...manifest.keys(), ...remote.keys()]);
  const actions: SyncAction[] = [];
  for (const path of [...paths].sort()) {
    const l = local.get(path);
    const m = manifest.get(path);
    const r = remote.get(path);
    if (l) {
      if (m && m.sig === l.sig) {
        if (!r) actions.push({ kind: 'delete-local', path, sig: l.sig });
        else if (r.etag !== m.etag) actions.push({ kind: 'download', path, expect: l.sig });
      } else if (inputs.final || inputs.previous.get(path) === l.sig) {
        actions.push({ kind: 'upload', path, sig: l.sig, size: l.size, replaces: r ?? null });
      }
    } else if (inputs.knownAbsent(path)) {
      if (m && r && r.etag === m.etag) actions.push({ kind: 'delete-remote', path });
      else if (r) actions.push({ kind: 'download', path, expect: null });
      else if (m) actions.push({ kind: 'forget', path });
    }
  }
  return actions;
}

/** The changed local files of a walk (new, or differing from the manifest): the next walk's `previous`. */
export function changedFiles(
  local: SyncInputs['local'],
  manifest: SyncInputs['manifest'],
): Map<string, FileSig> {
  const out = new Map<string, FileSig>();
  for (const [path, l] of local) {
    if (manifest.get(path)?.sig !== l.sig) out.set(path, l.sig);
  }
  return out;
}
