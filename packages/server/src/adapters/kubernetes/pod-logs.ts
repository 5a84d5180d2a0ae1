import { PassThrough } from 'node:stream';
import { MAX_LINE_LENGTH } from '../../runners/line-splitter.js';
import type { KubeClient } from './kube-client.js';

/** Wait before reconnecting a log stream that ended while the container may still be running. */
const RECONNECT_MS = 300;

/** An RFC 3339 timestamp (any fraction length, as the kubelet trims zeros) as nanoseconds since the epoch. */
export function timestampNs(ts: string): bigint | null {
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?Z$/.exec(ts);
  if (!m) return null;
  const s = Date.parse(`${m[1]}Z`);
  if (Number.isNaN(s)) return null;
  return BigInt(s) * 1_000_000n + BigInt((m[2] ?? '').padEnd(9, '0'));
}

/**
 * Follows a container's log through the API with timestamps, and reconnects when the stream drops.
 * No line is given twice: a reconnect asks from the second of the last line seen (the API's precision)
 * and skips lines older than that line, and as many lines of its very timestamp as were already given.
 * The log API merges stdout and stderr, so every line is reported as `stdout`.
 */
export class PodLogFollower {
  /** Timestamp of the last line given, how many lines carried it, and how many of them to skip now. */
  private lastNs: bigint | null;
  private countAtLast: number;
  private skipAtLast = 0;
  private stopped = false;
  private controller: AbortController | null = null;
  private streamEnded: Promise<void> = Promise.resolve();

  constructor(
    private readonly client: KubeClient,
    private readonly pod: string,
    private readonly container: string,
    private readonly onLine: (line: string) => void,
    /** Only lines after this time (adoption: from now on), or null for the whole log. */
    from: Date | null,
  ) {
    this.lastNs = from ? BigInt(from.getTime()) * 1_000_000n : null;
    this.countAtLast = from ? Number.POSITIVE_INFINITY : 0;
    void this.connect();
  }

  /** Resolves when the current stream ended (the container's last lines were read), or after `maxMs`. */
  drained(maxMs: number): Promise<void> {
    return Promise.race([this.streamEnded, new Promise<void>((r) => setTimeout(r, maxMs).unref())]);
  }

  stop(): void {
    this.stopped = true;
    this.controller?.abort();
  }

  private sinceTime(): string | null {
    if (this.lastNs === null) return null;
    const ms = Number(this.lastNs / 1_000_000n);
    return `${new Date(Math.floor(ms / 1000) * 1000).toISOString().slice(0, 19)}Z`;
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    this.skipAtLast = this.countAtLast;
    const out = new PassThrough();
    let buf = '';
    let ended!: () => void;
    this.streamEnded = new Promise((r) => {
      ended = r;
    });
    out.on('data', (chunk: Buffer) => {
      buf += chunk.toString('utf8');
      const lines = buf.split('\n');
      buf = lines.pop() ?? '';
      for (const l of lines) this.line(l);
    });
    let done = false;
    const again = () => {
      if (done) return;
      done = true;
      ended();
      if (!this.stopped) setTimeout(() => void this.connect(), RECONNECT_MS).unref();
    };
    out.once('end', again);
    out.once('error', again);
    // A dropped connection errors or closes the response body without ending `out`.
    out.once('pipe', (src: NodeJS.ReadableStream) => {
      src.once('error', again);
      src.once('close', () => setImmediate(again));
    });
    try {
      this.controller = await this.client.followLog(this.pod, this.container, this.sinceTime(), out);
    } catch {
      // The container is not started yet, or the Pod is gone: the watch decides which.
      out.destroy();
      again();
    }
  }

  private line(raw: string): void {
    const space = raw.indexOf(' ');
    const ns = space > 0 ? timestampNs(raw.slice(0, space)) : null;
    const text = ns === null ? raw : raw.slice(space + 1);
    if (ns !== null && this.lastNs !== null) {
      if (ns < this.lastNs) return;
      if (ns === this.lastNs && this.skipAtLast > 0) {
        this.skipAtLast--;
        return;
      }
    }
    if (ns !== null) {
      if (ns === this.lastNs) this.countAtLast++;
      else {
        this.lastNs = ns;
        this.countAtLast = 1;
        this.skipAtLast = 0;
      }
    }
    this.onLine(text.replace(/\r$/, '').slice(0, MAX_LINE_LENGTH));
  }
}
