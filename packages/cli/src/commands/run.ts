import { createInterface } from 'node:readline/promises';
import type { HangarClient, QueueLog, QueueStatus } from '@hangar/client';
import type { Command } from 'commander';
import { connect } from '../connection.js';
import { endpointArg, readJsonInput } from '../options.js';
import { dim, printJson, yellow } from '../output.js';
import { globals } from './globals.js';

interface RunOptions {
  input?: string;
  queue?: boolean;
  json?: boolean;
}

/** Exit code after the user interrupted a request (the shell's code for SIGINT). */
export const EXIT_INTERRUPTED = 130;

function note(text: string): void {
  process.stderr.write(`${dim(text)}\n`);
}

function printLog(l: QueueLog): void {
  process.stderr.write(`${dim(l.timestamp)} ${(l.level ?? 'INFO').padEnd(5)} ${l.message}\n`);
}

function printResult(requestId: string | null, data: unknown, json: boolean): void {
  if (json) printJson({ request_id: requestId, data });
  else process.stdout.write(`${typeof data === 'string' ? data : JSON.stringify(data, null, 2)}\n`);
}

async function confirmCancel(requestId: string): Promise<boolean> {
  if (!process.stdin.isTTY) return true;
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await rl.question(yellow(`\nCancel request ${requestId}? [y/N] `));
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    rl.close();
  }
}

/**
 * On Ctrl-C: asks (on a terminal) whether to cancel; on yes stops following, cancels, and settles
 * `cancelled`. A second Ctrl-C while asking quits at once.
 */
function onInterrupt(client: HangarClient, endpoint: string, requestId: string, stop: () => void) {
  let asking = false;
  let settle: () => void = () => {};
  const cancelled = new Promise<void>((resolve) => {
    settle = resolve;
  });
  const handler = async () => {
    if (asking) process.exit(EXIT_INTERRUPTED);
    asking = true;
    if (!(await confirmCancel(requestId))) {
      asking = false;
      note('continuing; press Ctrl-C again to cancel');
      return;
    }
    stop();
    try {
      const res = await client.queue.cancel(endpoint, requestId);
      const done = res.status === 'ALREADY_COMPLETED' ? 'already completed' : 'cancelled';
      process.stderr.write(`${yellow(done)} ${requestId}\n`);
    } catch (err) {
      process.stderr.write(`cancel failed: ${(err as Error).message}\n`);
    }
    settle();
  };
  process.on('SIGINT', handler);
  return { cancelled, detach: () => process.off('SIGINT', handler) };
}

/**
 * Follows a request to completion: queue position, then its logs as they come. Polls if the stream
 * drops, and prints at the end any line the stream had not delivered yet.
 */
async function follow(
  client: HangarClient,
  endpoint: string,
  requestId: string,
  signal: AbortSignal,
): Promise<void> {
  let last = '';
  let printed = 0;
  const show = (s: QueueStatus) => {
    const state =
      s.status === 'IN_QUEUE' ? `queued, position ${s.queue_position ?? 0}` : s.status.toLowerCase();
    if (state !== last && s.status !== 'COMPLETED') note(state === 'in_progress' ? 'running' : state);
    last = state;
    for (const l of s.logs ?? []) printLog(l);
    printed += s.logs?.length ?? 0;
  };
  let completed = false;
  try {
    for await (const s of client.queue.streamStatus(endpoint, requestId, { logs: true, signal })) {
      show(s);
      if (s.status === 'COMPLETED') completed = true;
    }
  } catch (err) {
    if (signal.aborted) return;
    note(`status stream failed (${(err as Error).message}); polling`);
  }
  for (;;) {
    const s = await client.queue.status(endpoint, requestId, { logs: true });
    if (completed || s.status === 'COMPLETED') {
      for (const l of (s.logs ?? []).slice(printed)) printLog(l);
      return;
    }
    show({ ...s, logs: null });
    await new Promise((r) => setTimeout(r, 1000));
  }
}

async function runQueued(
  client: HangarClient,
  endpoint: string,
  input: unknown,
  json: boolean,
): Promise<void> {
  const submitted = await client.queue.submit(endpoint, input);
  const id = submitted.request_id;
  const abort = new AbortController();
  // Listening before the id is printed: whoever reads it may interrupt at once.
  const { cancelled, detach } = onInterrupt(client, endpoint, id, () => abort.abort());
  note(`request ${id} queued, position ${submitted.queue_position ?? 0}`);
  try {
    await follow(client, endpoint, id, abort.signal);
    if (abort.signal.aborted) {
      await cancelled;
      process.exit(EXIT_INTERRUPTED);
    }
    const { data } = await client.queue.result(endpoint, id);
    printResult(id, data, json);
  } finally {
    detach();
  }
}

/** `hangar run OWNER/APP`: calls an app, synchronously or through the queue. */
export function registerRun(program: Command): void {
  program
    .command('run')
    .description('Call an app and print its answer (through the queue with --queue)')
    .argument('<endpoint>', 'OWNER/APP or OWNER/APP/ROUTE', endpointArg)
    .option('-i, --input <json>', 'input as JSON, @file.json, or @- for standard input (default {})')
    .option(
      '-q, --queue',
      'submit to the queue: shows the queue position and the logs; Ctrl-C offers to cancel',
    )
    .option('--json', 'print {request_id, data} as JSON')
    .addHelpText(
      'after',
      '\nExamples:\n  $ hangar run alice/echo --input \'{"prompt":"hi"}\'\n' +
        '  $ hangar run alice/echo/slow --input @input.json --queue\n',
    )
    .action(async (endpoint: string, opts: RunOptions, c: Command) => {
      const input = readJsonInput(opts.input);
      const client = connect(globals(c));
      if (opts.queue) return runQueued(client, endpoint, input, Boolean(opts.json));
      const { data, requestId } = await client.queue.run(endpoint, input);
      if (requestId) note(`request ${requestId}`);
      printResult(requestId, data, Boolean(opts.json));
    });
}
