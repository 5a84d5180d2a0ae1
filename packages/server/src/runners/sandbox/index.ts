import { createHash } from 'node:crypto';
import { resolve } from 'node:path';
import type { RunnerDriver } from '@hangar/core';
import { createProcessRunnerDriver } from '../process-driver.js';
import { createSandboxRunnerDriver } from './driver.js';
import { type OwnerIdentities, openOwnerIdentities } from './identities.js';
import { sweepIngress } from './pasta.js';
import { probeSandbox } from './probe.js';

export { createSandboxRunnerDriver } from './driver.js';
export { startEgressProxy } from './egress-proxy.js';
export { openOwnerIdentities } from './identities.js';
export { probeSandbox } from './probe.js';

/** The sandbox options of the configuration (`runners.sandbox`). */
export interface SandboxSettings {
  readonly memoryBytes: number;
  readonly pidsMax: number;
  readonly nofile: number;
  readonly tmpBytes: number;
  readonly uidBase: number;
  readonly roPaths: readonly string[];
  /** `none`: runners open no connection; `proxy`: through the egress proxy, public addresses only. */
  readonly egress: 'none' | 'proxy';
  readonly egressAllowlist: readonly string[];
}

/** How runners are isolated on this server, decided once at start. */
export type RunnerIsolation =
  | {
      mode: 'sandbox';
      driver: RunnerDriver;
      identities: OwnerIdentities;
      /** What start-up should tell the operator (e.g. cgroups missing). */
      warnings: string[];
    }
  | { mode: 'single-tenant'; driver: RunnerDriver; reason: string }
  /** No sandbox, by the operator's choice: every owner's code runs as the server's user. */
  | { mode: 'trusted'; driver: RunnerDriver };

/** Thrown when `runners.isolation` is `sandbox` and the host cannot build one. */
export class SandboxUnavailableError extends Error {}

/**
 * Picks the runner driver: the sandbox when `isolation` is `sandbox` (required) or `auto` and the
 * host supports it; otherwise plain processes, in single-tenant mode.
 */
export function chooseIsolation(opts: {
  isolation: 'auto' | 'sandbox' | 'none' | 'trusted';
  settings: SandboxSettings;
  /** Server-private directory for the sandbox's state (uid table, passwd files, pid files). */
  stateDir: string;
  /** Where the drivers keep per-runner state files for orphan discovery (`HANGAR_HOME/run/runners`). */
  runnersStateDir?: string;
  /** PATH to find bwrap, pasta, prlimit and setpriv on. */
  searchPath: string;
  /** Port of the egress proxy on 127.0.0.1 (runners.sandbox.egress "proxy"), else null. */
  egressPort?: number | null;
  /** Port of the file host on 127.0.0.1 (runners read `file_url`s there), else null. */
  filesPort?: number | null;
  baseEnv?: Record<string, string>;
}): RunnerIsolation {
  const processes = () =>
    createProcessRunnerDriver({
      filesPort: opts.filesPort ?? null,
      ...(opts.runnersStateDir ? { stateDir: opts.runnersStateDir } : {}),
    });
  if (opts.isolation === 'trusted') return { mode: 'trusted', driver: processes() };
  if (opts.isolation === 'none') {
    return {
      mode: 'single-tenant',
      driver: processes(),
      reason: 'runners.isolation is "none" in the config file',
    };
  }
  // One cgroup parent per server home: a server sweeps only what an earlier run of itself left.
  const home = createHash('sha256').update(resolve(opts.stateDir)).digest('hex').slice(0, 12);
  const probe = probeSandbox(opts.searchPath, `hangar-${home}`);
  if (!probe.ok) {
    if (opts.isolation === 'sandbox') {
      throw new SandboxUnavailableError(`runners.isolation is "sandbox" but ${probe.reason}`);
    }
    return { mode: 'single-tenant', driver: processes(), reason: probe.reason };
  }
  const identities = openOwnerIdentities(`${opts.stateDir}/owners`, opts.settings.uidBase);
  const driver = createSandboxRunnerDriver({
    ...probe.tools,
    identities,
    cgroups: probe.cgroups,
    runDir: `${opts.stateDir}/run`,
    ...(opts.runnersStateDir ? { stateDir: opts.runnersStateDir } : {}),
    memoryBytes: opts.settings.memoryBytes,
    pidsMax: opts.settings.pidsMax,
    nofile: opts.settings.nofile,
    tmpBytes: opts.settings.tmpBytes,
    roPaths: opts.settings.roPaths,
    egressPort: opts.egressPort ?? null,
    filesPort: opts.filesPort ?? null,
    ...(opts.baseEnv ? { baseEnv: opts.baseEnv } : {}),
  });
  // Runners of an earlier server process died with it (--die-with-parent); their cgroups and port
  // forwarders may not have.
  probe.cgroups?.sweep().catch(() => {});
  sweepIngress(`${opts.stateDir}/run`);
  return { mode: 'sandbox', driver, identities, warnings: probe.warnings };
}
