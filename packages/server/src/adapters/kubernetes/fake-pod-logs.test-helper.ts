import type { ServerResponse } from 'node:http';

/** One line a fake container wrote, with the CRI timestamp a real kubelet would record (RFC 3339, ns). */
export interface LogLine {
  ts: string;
  ms: number;
  text: string;
}

let lastNs = 0n;

/**
 * Now on the wall clock (as a kubelet stamps lines, which a reader compares with its own clock), as an
 * RFC 3339 timestamp with nanoseconds: sub-millisecond digits from the monotonic clock, strictly increasing.
 */
export function nanoTimestamp(): { ts: string; ms: number } {
  let totalNs = BigInt(Date.now()) * 1_000_000n + (process.hrtime.bigint() % 1_000_000n);
  if (totalNs <= lastNs) totalNs = lastNs + 1n;
  lastNs = totalNs;
  const ms = Number(totalNs / 1_000_000n);
  const frac = (totalNs % 1_000_000_000n).toString().padStart(9, '0');
  return { ts: `${new Date(ms).toISOString().slice(0, 19)}.${frac}Z`, ms };
}

export interface LogQuery {
  follow: boolean;
  timestamps: boolean;
  sinceTime: string | null;
  sinceSeconds: number | null;
  tailLines: number | null;
}

/**
 * A container's log as the kubelet keeps it: stdout and stderr merged into one line stream (the log API
 * cannot tell them apart), followed until the container ends.
 */
export class ContainerLog {
  readonly lines: LogLine[] = [];
  private ended = false;
  private readonly followers = new Set<{ res: ServerResponse; ts: boolean }>();
  private partial = { stdout: '', stderr: '' };

  write(stream: 'stdout' | 'stderr', chunk: Buffer): void {
    const parts = (this.partial[stream] + chunk.toString('utf8')).split('\n');
    this.partial[stream] = parts.pop() ?? '';
    for (const p of parts) this.push(p.replace(/\r$/, ''));
  }

  private push(text: string): void {
    const { ts, ms } = nanoTimestamp();
    const line = { ts, ms, text };
    this.lines.push(line);
    for (const f of this.followers) f.res.write(format(line, f.ts));
  }

  /** The container ended: flushes partial lines and ends every follower. */
  end(): void {
    if (this.ended) return;
    for (const s of ['stdout', 'stderr'] as const) if (this.partial[s]) this.push(this.partial[s]);
    this.ended = true;
    for (const f of this.followers) f.res.end();
    this.followers.clear();
  }

  /** Cuts every follow stream without ending the log (a dropped connection). */
  dropFollowers(): void {
    for (const f of this.followers) f.res.destroy();
    this.followers.clear();
  }

  serve(res: ServerResponse, q: LogQuery): void {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.flushHeaders();
    let lines = this.lines;
    // The real API parses sinceTime with second precision.
    if (q.sinceTime) {
      const since = Math.floor(Date.parse(q.sinceTime) / 1000) * 1000;
      lines = lines.filter((l) => l.ms >= since);
    }
    if (q.sinceSeconds !== null) {
      const since = Date.now() - q.sinceSeconds * 1000;
      lines = lines.filter((l) => l.ms >= since);
    }
    if (q.tailLines !== null) lines = lines.slice(Math.max(0, lines.length - q.tailLines));
    for (const l of lines) res.write(format(l, q.timestamps));
    if (!q.follow || this.ended) {
      res.end();
      return;
    }
    const f = { res, ts: q.timestamps };
    this.followers.add(f);
    res.on('close', () => this.followers.delete(f));
  }
}

function format(l: LogLine, ts: boolean): string {
  return ts ? `${l.ts} ${l.text}\n` : `${l.text}\n`;
}
