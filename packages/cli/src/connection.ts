import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { createHangarClient, type HangarClient } from '@hangar/client';
import { CliError, EXIT } from './output.js';

/** Global connection options every remote command accepts. */
export interface ConnectionOptions {
  url?: string;
  key?: string;
  profile?: string;
  home?: string;
}

interface Profile {
  url?: string;
  key?: string;
}

/** Path of the profiles file (`hangar login` writes it). */
export function profilesPath(): string {
  const base = process.env.XDG_CONFIG_HOME || join(homedir(), '.config');
  return join(base, 'hangar', 'config.json');
}

function readProfile(name: string): Profile {
  try {
    const all = JSON.parse(readFileSync(profilesPath(), 'utf8')) as { profiles?: Record<string, Profile> };
    return all.profiles?.[name] ?? {};
  } catch {
    return {};
  }
}

function readLocalAdminKey(home: string): string | undefined {
  try {
    return readFileSync(join(home, 'admin.key'), 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

/** Resolves URL and key: flags, then env, then the profile, then a local server's admin key. */
export function resolveConnection(opts: ConnectionOptions): { url: string; key: string | undefined } {
  const profile = readProfile(opts.profile ?? process.env.HANGAR_PROFILE ?? 'default');
  const url = opts.url ?? process.env.HANGAR_URL ?? profile.url ?? 'http://127.0.0.1:8080';
  const home = opts.home ?? process.env.HANGAR_HOME ?? '.hangar';
  const key =
    opts.key ?? process.env.HANGAR_KEY ?? process.env.FAL_KEY ?? profile.key ?? readLocalAdminKey(home);
  return { url, key };
}

/** A client for the resolved connection; fails with an auth exit code when no key is known. */
export function connect(opts: ConnectionOptions, requireKey = true): HangarClient {
  const { url, key } = resolveConnection(opts);
  if (requireKey && !key) {
    throw new CliError('no key: pass --key, set HANGAR_KEY or FAL_KEY, or run `hangar login`', EXIT.auth);
  }
  return createHangarClient({ url, key });
}
