/**
 * The runner sandbox's mount and namespace plan, as bubblewrap arguments. Pure: everything it needs
 * about the host comes in through `SandboxHost`, so the plan is unit-tested without running anything.
 *
 * Inside, a runner sees:
 * - `/app`: its revision's code, read-only (the working directory);
 * - `/data`: its owner's storage root, read-write (`DATA_DIR`);
 * - `/tmp` and `/dev/shm`: private, size-capped tmpfs;
 * - `/usr` and the `/bin`, `/lib*` links or directories, a handful of `/etc` files, read-only;
 * - its own `/proc` (pid namespace) and a minimal `/dev`, plus the device nodes of its own GPUs.
 * Nothing else of the host's file tree exists there: no HANGAR_HOME, no other owner's data, no /root.
 */

/** Where the sandboxed process's namespaces start; passed to bubblewrap. */
export const SANDBOX_APP_DIR = '/app';
export const SANDBOX_DATA_DIR = '/data';
export const SANDBOX_HOME = '/tmp';
/** PATH inside the sandbox (plus the bin directory of any extra read-only prefix). */
export const SANDBOX_PATH = '/usr/local/bin:/usr/bin:/bin';

/** Top-level system entries that are bound read-only when they exist (symlinks are recreated). */
export const SYSTEM_ENTRIES = ['/usr', '/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32'] as const;

/**
 * `/etc` entries a runner may need (name resolution files, TLS roots, time zone, the dynamic linker's
 * cache). Everything else under `/etc` stays hidden: it is the host's configuration, not the app's.
 */
export const ETC_ENTRIES = [
  '/etc/hosts',
  '/etc/nsswitch.conf',
  '/etc/resolv.conf',
  '/etc/localtime',
  '/etc/timezone',
  '/etc/ssl',
  '/etc/ca-certificates',
  '/etc/pki',
  '/etc/ld.so.cache',
  '/etc/ld.so.conf',
  '/etc/ld.so.conf.d',
  '/etc/alternatives',
  '/etc/mime.types',
  '/etc/os-release',
  '/etc/debian_version',
] as const;

/** What the plan needs to know about the host's file tree. */
export interface SandboxHost {
  /** `'dir'`, `'file'`, a symlink's target (`{ link }`), or null when the path does not exist. */
  kind(path: string): 'dir' | 'file' | { link: string } | null;
}

/** Limits and identity of one runner's sandbox. */
export interface SandboxRun {
  /** The host uid/gid the app runs as (a per-owner uid). */
  uid: number;
  gid: number;
  /** Host directory holding the revision's code (mounted read-only at `/app`). */
  appDir: string;
  /** Host directory of the owner's storage (mounted read-write at `/data`). */
  dataDir: string;
  /** Host files holding the synthetic `/etc/passwd` and `/etc/group` of this uid. */
  passwdFile: string;
  groupFile: string;
  /** Size of `/tmp` and of `/dev/shm`, bytes. */
  tmpBytes: number;
  /** Extra host paths bound read-only at the same place (interpreters outside /usr, model caches). */
  roPaths: readonly string[];
  /** Environment of the app (the only variables it gets). */
  env: Readonly<Record<string, string>>;
  /** The app's command, resolved inside the sandbox (PATH above, cwd `/app`). */
  command: readonly string[];
  /** Where setpriv is inside the sandbox (it drops to `uid` after the namespaces are built). */
  setprivPath: string;
  /** nvidia-smi indexes of the runner's own GPUs: their `/dev/nvidia<N>` nodes are bound (default none). */
  gpuIndexes?: readonly number[];
  /** File descriptors the launcher passes: bubblewrap writes its JSON info to one, waits on the other. */
  infoFd: number;
  blockFd: number;
}

/** bubblewrap's arguments for one runner. The launcher runs bubblewrap as root; setpriv drops to `uid`. */
export function bwrapArgs(host: SandboxHost, run: SandboxRun): string[] {
  const args = [
    '--unshare-pid',
    '--unshare-ipc',
    '--unshare-uts',
    '--unshare-net',
    '--unshare-cgroup-try',
    '--die-with-parent',
    '--new-session',
    '--hostname',
    'runner',
  ];
  for (const entry of SYSTEM_ENTRIES) args.push(...bindEntry(host, entry));
  // Directories bubblewrap creates on its own are 0700 root: the app's uid could not look inside.
  args.push('--perms', '0755', '--dir', '/etc');
  for (const entry of ETC_ENTRIES) args.push(...bindEntry(host, entry));
  args.push('--ro-bind', run.passwdFile, '/etc/passwd', '--ro-bind', run.groupFile, '/etc/group');
  for (const path of run.roPaths) {
    if (host.kind(path) !== null) args.push('--ro-bind', path, path);
  }
  args.push('--proc', '/proc', '--dev', '/dev');
  args.push(...gpuDevices(host, run.gpuIndexes ?? []));
  args.push('--size', String(run.tmpBytes), '--perms', '1777', '--tmpfs', '/tmp');
  args.push('--size', String(run.tmpBytes), '--perms', '1777', '--tmpfs', '/dev/shm');
  args.push('--ro-bind', run.appDir, SANDBOX_APP_DIR, '--bind', run.dataDir, SANDBOX_DATA_DIR);
  args.push('--chdir', SANDBOX_APP_DIR, '--clearenv');
  for (const [key, value] of Object.entries(run.env)) args.push('--setenv', key, value);
  args.push('--info-fd', String(run.infoFd), '--block-fd', String(run.blockFd));
  args.push(
    '--',
    run.setprivPath,
    `--reuid=${run.uid}`,
    `--regid=${run.gid}`,
    '--clear-groups',
    '--no-new-privs',
    '--inh-caps=-all',
    '--bounding-set=-all',
    '--',
    ...run.command,
  );
  return args;
}

/** Device nodes of NVIDIA's driver every GPU process needs besides its cards' own, bound when present. */
export const GPU_CONTROL_DEVICES = [
  '/dev/nvidiactl',
  '/dev/nvidia-uvm',
  '/dev/nvidia-uvm-tools',
  '/dev/nvidia-modeset',
] as const;

/**
 * `--dev-bind`s of a runner's own GPUs (`/dev/nvidia<N>`, N the card's index as its minor number) and of
 * the driver's control devices; nothing for a runner without GPUs, so it sees no card at all.
 */
export function gpuDevices(host: SandboxHost, indexes: readonly number[]): string[] {
  if (indexes.length === 0) return [];
  const args: string[] = [];
  for (const path of [...indexes.map((i) => `/dev/nvidia${i}`), ...GPU_CONTROL_DEVICES]) {
    if (host.kind(path) !== null) args.push('--dev-bind', path, path);
  }
  return args;
}

/** Binds a system path read-only, recreating it as a link when it is one (merged-/usr systems). */
function bindEntry(host: SandboxHost, path: string): string[] {
  const kind = host.kind(path);
  if (kind === null) return [];
  if (typeof kind === 'object') {
    // Top-level links such as /lib -> usr/lib are recreated; deeper ones (/etc/localtime) are bound
    // as the file they point to, since their target may lie outside what the sandbox shows.
    return path.split('/').length === 2 ? ['--symlink', kind.link, path] : ['--ro-bind', path, path];
  }
  return ['--ro-bind', path, path];
}

/** The synthetic `/etc/passwd` and `/etc/group` of a sandbox: the app's user and nobody. */
export function identityFiles(uid: number, gid: number): { passwd: string; group: string } {
  return {
    passwd:
      `app:x:${uid}:${gid}:Hangar runner:${SANDBOX_HOME}:/usr/sbin/nologin\n` +
      'nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n',
    group: `app:x:${gid}:\nnogroup:x:65534:\n`,
  };
}

/** PATH for the sandbox: the default one, then the `bin` directory of each extra read-only prefix. */
export function sandboxPath(roPaths: readonly string[]): string {
  const extra = roPaths.map((p) => `${p.replace(/\/+$/, '')}/bin`);
  return [SANDBOX_PATH, ...extra].join(':');
}
