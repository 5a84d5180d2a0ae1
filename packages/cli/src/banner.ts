import { isAbsolute, relative } from 'node:path';

/** What `hangar serve` knows once the server listens. */
export interface ServeBannerInfo {
  /** The URL the server listens on. */
  url: string;
  owner: string;
  /** The admin key when this start generated it (shown once), else null. */
  adminKey: string | null;
  /** Absolute path of the file holding the admin key. */
  adminKeyPath: string;
  /** Endpoint ids deployed at start (demo apps). */
  deployed: readonly string[];
  /** The working directory, to show the key file's path as the user would type it. */
  cwd: string;
}

/** Text styles, so the banner is plain in tests and coloured on a terminal. */
export interface BannerStyle {
  bold(s: string): string;
  dim(s: string): string;
}

/** A path or word as one shell word: bare when it is safe, else in single quotes. */
export function shellWord(s: string): string {
  return /^[\w./:@%+,=-]+$/.test(s) ? s : `'${s.replaceAll("'", `'\\''`)}'`;
}

/** The URL a browser on this machine opens: a wildcard bind address is reached through loopback. */
export function browsableUrl(url: string): string {
  const u = new URL(url);
  if (u.hostname === '0.0.0.0') u.hostname = '127.0.0.1';
  else if (u.hostname === '[::]') u.hostname = '[::1]';
  return u.origin;
}

function keyFile(path: string, cwd: string): string {
  const rel = relative(cwd, path);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path;
}

/** The first request to try: the demo echo app when deployed, else the list of apps. */
function tryCurl(info: ServeBannerInfo, base: string): string {
  const key = info.adminKey ?? `$(cat ${shellWord(keyFile(info.adminKeyPath, info.cwd))})`;
  const auth = `-H "Authorization: Key ${key}"`;
  const app = info.deployed.find((a) => a.endsWith('/echo')) ?? info.deployed[0];
  if (app === undefined) return `curl -s ${base}/v1/serverless/apps ${auth}`;
  return `curl -s -X POST ${base}/run/${app} ${auth} -H 'content-type: application/json' -d '{"hello":"world"}'`;
}

/**
 * The lines `hangar serve` prints once it listens: where it listens, the admin key (the key itself on
 * the start that generated it, else where it is kept), the demo apps, where the dashboard is and what
 * to try first.
 */
export function serveBanner(info: ServeBannerInfo, style: BannerStyle): string[] {
  const base = browsableUrl(info.url);
  const lines = [`${style.bold('Hangar')} listening on ${info.url}`];
  if (info.adminKey) {
    lines.push(
      `admin key (owner ${info.owner}, shown once, saved in ${info.adminKeyPath}):`,
      `  ${info.adminKey}`,
    );
  } else {
    lines.push(style.dim(`admin key: ${info.adminKeyPath}`));
  }
  for (const app of info.deployed) lines.push(style.dim(`deployed ${app}`));
  lines.push(
    '',
    `${style.bold('Dashboard')}  ${base}/  ${style.dim('(sign in with the admin key)')}`,
    `${style.bold('Try')}        ${tryCurl(info, base)}`,
    '           npx hangar --help',
    '',
  );
  return lines;
}
