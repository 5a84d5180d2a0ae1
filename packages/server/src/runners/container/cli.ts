import { spawn } from 'node:child_process';

/** What one finished container CLI command printed. */
export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Output kept per stream: `ps` of many runners fits; a runaway command cannot fill memory. */
const MAX_OUTPUT = 4 * 1024 * 1024;

/**
 * Runs `cli args…` to its end and collects its output. Aborting `signal` kills it (the result then
 * has a null code). Never rejects for a non-zero exit: callers decide what an exit code means.
 */
export function runCli(cli: string, args: readonly string[], signal?: AbortSignal): Promise<CliResult> {
  if (signal?.aborted) return Promise.resolve({ code: null, stdout: '', stderr: '' });
  return new Promise((resolve, reject) => {
    const child = spawn(cli, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let outBytes = 0;
    let errBytes = 0;
    child.stdout.on('data', (b: Buffer) => {
      outBytes += b.length;
      if (outBytes <= MAX_OUTPUT) out.push(b);
    });
    child.stderr.on('data', (b: Buffer) => {
      errBytes += b.length;
      if (errBytes <= MAX_OUTPUT) err.push(b);
    });
    const onAbort = () => child.kill('SIGKILL');
    signal?.addEventListener('abort', onAbort, { once: true });
    child.once('error', (e) => {
      signal?.removeEventListener('abort', onAbort);
      reject(new Error(`container CLI could not be run: ${(e as NodeJS.ErrnoException).code ?? e.message}`));
    });
    child.once('close', (code) => {
      signal?.removeEventListener('abort', onAbort);
      resolve({
        code,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      });
    });
  });
}

/** The CLI's last stderr line, shortened: enough to say why without pages of output. */
export function cliReason(result: CliResult): string {
  const lines = result.stderr.split('\n').filter((l) => l.trim() !== '');
  const last = (lines.at(-1) ?? `exit code ${result.code}`).trim();
  return last.length > 200 ? `${last.slice(0, 200)}…` : last;
}

/** True when the CLI said the container does not exist (a remove of one already gone succeeded). */
export function noSuchContainer(result: CliResult): boolean {
  return /no such container|no container with name or id/i.test(result.stderr);
}
