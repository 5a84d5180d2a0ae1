import { HangarApiError } from '@hangar/client';

/** Exit codes: distinct for usage, auth and other errors so scripts can tell them apart. */
export const EXIT = { ok: 0, error: 1, usage: 2, auth: 3, notFound: 4, unreachable: 5 } as const;

// NO_COLOR (any non-empty value) wins; otherwise colour only when writing to a terminal.
const color = !process.env.NO_COLOR && Boolean(process.stdout.isTTY);
const paint = (code: number) => (s: string) => (color ? `\u001b[${code}m${s}\u001b[0m` : s);
export const dim = paint(2);
export const bold = paint(1);
export const red = paint(31);
export const green = paint(32);
export const yellow = paint(33);

const ANSI = /\u001b\[[0-9;]*m/g;

/** Length of a string as shown on a terminal (colour codes excluded). */
export function visibleLength(s: string): number {
  return s.replace(ANSI, '').length;
}

/** An error the CLI reports as one line and a given exit code. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT.error,
  ) {
    super(message);
  }
}

/** Prints one clear line for an error and returns the exit code to use. */
export function reportError(err: unknown): number {
  if (err instanceof CliError) {
    process.stderr.write(`${red('error')}: ${err.message}\n`);
    return err.exitCode;
  }
  if (err instanceof HangarApiError) {
    process.stderr.write(
      `${red('error')}: ${err.message}${err.status ? dim(` (HTTP ${err.status})`) : ''}\n`,
    );
    if (err.status === 0) return EXIT.unreachable;
    if (err.status === 401 || err.status === 403) return EXIT.auth;
    if (err.status === 404) return EXIT.notFound;
    if (err.status === 400 || err.status === 422) return EXIT.usage;
    return EXIT.error;
  }
  process.stderr.write(`${red('error')}: ${(err as Error)?.message ?? String(err)}\n`);
  return EXIT.error;
}

/**
 * Makes a closed output pipe end the command quietly: when the reader of stdout or stderr goes away
 * (`hangar requests … | head`), nobody is left to read the rest, so the process exits with 0 and no
 * message. Any other write error is reported once (exit 1).
 */
export function exitQuietlyOnClosedOutput(): void {
  const onError = (stream: NodeJS.WriteStream) => (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(EXIT.ok);
    if (stream === process.stdout)
      process.stderr.write(`${red('error')}: cannot write output: ${err.message}\n`);
    process.exit(EXIT.error);
  };
  process.stdout.on('error', onError(process.stdout));
  process.stderr.on('error', onError(process.stderr));
}

/** Prints rows as an aligned table with a header. */
export function printTable(headers: string[], rows: (string | number | null | undefined)[][]): void {
  const cells = rows.map((r) => r.map((c) => (c === null || c === undefined ? '-' : String(c))));
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => visibleLength(r[i] ?? ''))));
  const pad = (c: string, w: number) => c + ' '.repeat(Math.max(0, w - visibleLength(c)));
  const line = (r: string[]) =>
    r
      .map((c, i) => pad(c, widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  process.stdout.write(`${bold(line(headers))}\n`);
  for (const r of cells) process.stdout.write(`${line(r)}\n`);
}

/** Prints a value as indented JSON (for `--json`). */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}
