import { parentPort, workerData } from 'node:worker_threads';
import { openReadOnly } from '../store/sqlite/open.js';
import { loadRegistry, runQuery, type WorkerReply, type WorkerRequest } from './dispatch.js';

// Entry of a query worker thread: one read-only connection, the registry's queries, one message per call.

const { dbPath, modules } = workerData as { dbPath: string; modules: string[] };
const db = openReadOnly(dbPath);
const ready = loadRegistry(modules);
const port = parentPort!;

port.on('message', async (msg: WorkerRequest) => {
  const reply: WorkerReply = runQuery(db, await ready, msg);
  port.postMessage(reply);
});
