export { createFalStorage, type FalStorage, type FalStorageDeps } from './fal-storage.js';
export { registerStorageRoutes } from './routes.js';
export { loadOrCreateStorageSecret } from './upload-token.js';

/** Runs `storage.sweep()` every `intervalMs` (unref'd); failures are logged and retried next time. */
export function startStorageSweeper(
  storage: { sweep(): Promise<number> },
  intervalMs: number,
  logger: { warn(obj: object, msg: string): void },
): { close(): void } {
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    storage
      .sweep()
      .catch((err: unknown) => logger.warn({ err }, 'sweeping expired storage objects failed'))
      .finally(() => {
        running = false;
      });
  }, intervalMs);
  timer.unref();
  return { close: () => clearInterval(timer) };
}
export { type FileHost, startFileHost } from './file-host.js';
