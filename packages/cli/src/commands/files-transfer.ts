import { readdir, stat } from 'node:fs/promises';
import { basename, join, relative, sep } from 'node:path';
import { type FileEntry, HangarApiError, type HangarClient } from '@hangar/client';
import { downloadFile, uploadFile } from '@hangar/client/node';
import { formatBytes } from '../format.js';
import { CliError, EXIT, green, printJson } from '../output.js';
import { byteProgress, progressEnabled } from '../progress.js';

/** One file moved between disk and the server. */
export interface Transfer {
  local: string;
  remote: string;
  bytes: number;
}

function joinRemote(dir: string, name: string): string {
  const base = dir.replace(/\/+$/, '');
  return base === '' ? name : `${base}/${name}`;
}

async function localFiles(dir: string): Promise<{ path: string; size: number }[]> {
  const out: { path: string; size: number }[] = [];
  for (const d of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, d.name);
    if (d.isDirectory()) out.push(...(await localFiles(p)));
    else if (d.isFile()) out.push({ path: p, size: (await stat(p)).size });
  }
  return out;
}

/** Every file under a remote folder, recursively (the API lists one level per call). */
export async function remoteFiles(client: HangarClient, dir: string): Promise<FileEntry[]> {
  const out: FileEntry[] = [];
  for (const e of await client.files.list(dir)) {
    if (e.is_file) out.push(e);
    else out.push(...(await remoteFiles(client, e.path)));
  }
  return out;
}

/** The remote folder's listing, or null when `path` names a file. */
async function listIfFolder(client: HangarClient, path: string): Promise<FileEntry[] | null> {
  try {
    return await client.files.list(path);
  } catch (err) {
    if (err instanceof HangarApiError && err.status === 400) return null;
    throw err;
  }
}

function report(verb: string, transfers: Transfer[], target: string, json: boolean): void {
  const bytes = transfers.reduce((n, t) => n + t.bytes, 0);
  if (json) {
    printJson({ files: transfers, bytes });
    return;
  }
  const what = transfers.length === 1 ? '1 file' : `${transfers.length} files`;
  process.stdout.write(
    `${green(verb)} ${what} (${formatBytes(bytes)}) ${verb === 'uploaded' ? 'to' : 'into'} ${target}\n`,
  );
}

/** `files upload LOCAL REMOTE`: a file, or a folder recursively (REMOTE ending in `/` keeps the name). */
export async function uploadPath(
  client: HangarClient,
  local: string,
  remote: string,
  opts: { unzip?: boolean; json?: boolean },
): Promise<void> {
  const info = await stat(local).catch(() => null);
  if (!info) throw new CliError(`no such file or folder: ${local}`, EXIT.usage);
  const isDir = info.isDirectory();
  if (isDir && opts.unzip) throw new CliError('--unzip takes a ZIP file, not a folder', EXIT.usage);
  const jobs = isDir
    ? (await localFiles(local)).map((f) => ({
        ...f,
        remote: joinRemote(remote, relative(local, f.path).split(sep).join('/')),
      }))
    : [
        {
          path: local,
          size: info.size,
          remote: remote.endsWith('/') ? joinRemote(remote, basename(local)) : remote,
        },
      ];
  const bar = byteProgress(
    jobs.reduce((n, j) => n + j.size, 0),
    progressEnabled(opts.json),
  );
  const done: Transfer[] = [];
  try {
    for (const job of jobs) {
      const label = basename(job.path);
      await uploadFile(client, job.path, job.remote, {
        unzip: opts.unzip,
        onProgress: (p) => bar.update(p.loaded, label),
      });
      bar.fileDone(job.size);
      done.push({ local: job.path, remote: job.remote, bytes: job.size });
    }
  } finally {
    bar.stop();
  }
  report('uploaded', done, remote || '/', Boolean(opts.json));
}

/** `files download REMOTE LOCAL`: a file, or a folder recursively. */
export async function downloadPath(
  client: HangarClient,
  remote: string,
  local: string,
  opts: { json?: boolean },
): Promise<void> {
  const listing = await listIfFolder(client, remote);
  const localInfo = await stat(local).catch(() => null);
  let jobs: { remote: string; local: string; size: number | null }[];
  if (listing) {
    const prefix = remote.replace(/^\/+|\/+$/g, '').replace(/^data(\/|$)/, '');
    const files = await remoteFiles(client, remote);
    jobs = files.map((f) => {
      const rel = prefix && f.path.startsWith(`${prefix}/`) ? f.path.slice(prefix.length + 1) : f.path;
      return { remote: f.path, local: join(local, ...rel.split('/')), size: f.size };
    });
  } else {
    const into = localInfo?.isDirectory() || local.endsWith('/') || local.endsWith(sep);
    jobs = [{ remote, local: into ? join(local, basename(remote)) : local, size: null }];
  }
  const total = jobs.reduce((n, j) => n + (j.size ?? 0), 0);
  const bar = byteProgress(total, progressEnabled(opts.json));
  const done: Transfer[] = [];
  try {
    for (const job of jobs) {
      const label = basename(job.remote);
      let sized = job.size !== null;
      const bytes = await downloadFile(client, job.remote, job.local, {
        onProgress: (p) => {
          if (!sized && p.total !== null) {
            sized = true;
            bar.setTotal(p.total);
          }
          bar.update(p.loaded, label);
        },
      });
      bar.fileDone(bytes);
      done.push({ local: job.local, remote: job.remote, bytes });
    }
  } finally {
    bar.stop();
  }
  report('downloaded', done, local, Boolean(opts.json));
}
