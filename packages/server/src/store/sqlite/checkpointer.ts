import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type Database from 'better-sqlite3';
import type { WriteErrorLogger } from './writer.js';

/** SQLite's own default: a checkpoint once the WAL holds this many pages. */
const AUTO_CHECKPOINT_PAGES = 1000;

// Plain CommonJS evaluated in the worker, so it runs the same from TypeScript sources and from the build.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.path, { fileMustExist: true });
db.pragma('busy_timeout = 5000');
const checkpoint = () => db.pragma('wal_checkpoint(PASSIVE)');
const timer = setInterval(checkpoint, workerData.intervalMs);
parentPort.on('message', () => {
  clearInterval(timer);
  checkpoint();
  db.close();
  parentPort.close();
});
`;

/** Copies the WAL back into the database file from a worker thread. */
export interface Checkpointer {
  /** Runs a last checkpoint and stops the worker. */
  close(): Promise<void>;
}

/**
 * Moves WAL checkpoints off the writer's thread: the writer connection stops checkpointing on commit
 * (which copies pages and fsyncs, stalling the event loop for milliseconds), and a worker runs a
 * PASSIVE checkpoint every `intervalMs`, which never blocks the writer. Should the worker fail, the
 * writer connection checkpoints on its own again.
 */
export function startCheckpointer(
  db: Database.Database,
  path: string,
  intervalMs: number,
  logger: WriteErrorLogger,
): Checkpointer {
  const driver = createRequire(import.meta.url).resolve('better-sqlite3');
  db.pragma('wal_autocheckpoint = 0');
  const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { driver, path, intervalMs } });
  worker.unref();
  let stopped = false;
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  worker.on('error', (err) => {
    logger.error({ err }, 'background checkpoints failed; the writer checkpoints itself again');
    if (!stopped && db.open) db.pragma(`wal_autocheckpoint = ${AUTO_CHECKPOINT_PAGES}`);
  });
  return {
    async close() {
      if (stopped) return;
      stopped = true;
      // Held open until the last checkpoint is done: an unreferenced worker would let the process exit first.
      worker.ref();
      worker.postMessage('close');
      await exited;
    },
  };
}
