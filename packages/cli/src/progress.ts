import cliProgress from 'cli-progress';
import { formatBytes } from './format.js';

/** Byte progress of one transfer (or a batch of files): drawn on stderr when it is a terminal. */
export interface ByteProgress {
  /** Sets the bytes done of the current file; `base` is what earlier files of the batch moved. */
  update(loaded: number, label?: string): void;
  /** Marks the current file complete and moves the batch base forward. */
  fileDone(size: number): void;
  /** Sets the batch total once it is known (a single download learns it from Content-Length). */
  setTotal(total: number): void;
  stop(): void;
}

const NONE: ByteProgress = { update() {}, fileDone() {}, setTotal() {}, stop() {} };

/** Whether progress bars are drawn: stderr is a terminal and the output is not for scripts. */
export function progressEnabled(json: boolean | undefined): boolean {
  return Boolean(process.stderr.isTTY) && !json;
}

/** A byte progress bar over `total` bytes, or a no-op when bars are disabled. */
export function byteProgress(total: number, enabled: boolean): ByteProgress {
  if (!enabled) return NONE;
  const bar = new cliProgress.SingleBar(
    {
      format: '{label} [{bar}] {percentage}% | {value}/{total} | {speed}/s',
      formatValue: (v, _o, type) => (type === 'value' || type === 'total' ? formatBytes(v) : String(v)),
      stream: process.stderr,
      hideCursor: true,
      barsize: 30,
    },
    cliProgress.Presets.shades_classic,
  );
  const started = Date.now();
  let base = 0;
  let label = '';
  bar.start(Math.max(total, 1), 0, { label, speed: formatBytes(0) });
  return {
    update(loaded, next) {
      if (next !== undefined) label = next;
      const done = base + loaded;
      const secs = Math.max((Date.now() - started) / 1000, 0.001);
      bar.update(done, { label, speed: formatBytes(Math.round(done / secs)) });
    },
    fileDone(size) {
      base += size;
      bar.update(base, { label });
    },
    setTotal: (n) => bar.setTotal(Math.max(n, 1)),
    stop: () => bar.stop(),
  };
}
