import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { openReadOnly } from '../open.js';
import { loadRegistry, READY_ID, runQuery, type WorkerReply, type WorkerRequest } from './dispatch.js';

// Entry of a query worker thread: one read-only connection, the registry's queries, one message per call.

const { dbPath, modules, nice } = workerData as { dbPath: string; modules: string[]; nice?: number };
lowerPriority(nice ?? 0);
const db = openReadOnly(dbPath);
const ready = loadRegistry(modules);
const port = parentPort!;
ready.then(() => port.postMessage({ id: READY_ID, ok: true, result: null } satisfies WorkerReply));

port.on('message', async (msg: WorkerRequest) => {
  const reply: WorkerReply = runQuery(db, await ready, msg);
  try {
    port.postMessage(reply);
  } catch (err) {
    // A result that cannot be cloned (nested past this thread's stack, say) fails its call, not the thread.
    const message = `the result of "${msg.name}" could not be sent: ${(err as Error).message}`;
    port.postMessage({ id: msg.id, ok: false, code: null, message } satisfies WorkerReply);
  }
});

/**
 * Gives this thread (not the process) the nice value `nice`: Linux schedules threads individually and
 * setpriority(2) takes a thread id. Elsewhere, or when not permitted, the thread keeps its priority.
 */
function lowerPriority(nice: number): void {
  if (nice <= 0) return;
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    if (Number.isInteger(tid) && tid > 0) setPriority(tid, nice);
  } catch {
    // Not Linux (no /proc/thread-self) or not allowed: run at normal priority.
  }
}
