import type { LogBus, LogLine, LogStore } from '@hangar/core';
import type { Job } from './dispatch/job.js';
import { parseLogLine } from './log-parse.js';
import type { Runner } from './runner.js';

/** Lines buffered before a flush is forced within the current event-loop turn. */
const MAX_BATCH = 2000;

/**
 * Collects runner output as log lines and writes them in batches: to the store first (which assigns
 * ids), then to the live bus, so subscribers see lines that already have their cursor id.
 */
export class LogSink {
  private batch: LogLine[] = [];
  private scheduled: NodeJS.Immediate | null = null;
  /** Reports a failed flush that ran on its own (set by the supervisor's timers); such lines are dropped. */
  onFlushError: (err: unknown) => void = () => {};

  constructor(
    private readonly store: LogStore,
    private readonly bus: LogBus,
    private readonly clock: () => number,
    private readonly jobs: Map<string, Job>,
    /** Masks the owner's secret values (a line is masked before it is stored or published). */
    private readonly mask: (owner: string, text: string) => string = (_owner, text) => text,
  ) {}

  /** Turns one output line of a runner into a log line labelled with the runner and, when known, the request. */
  push(runner: Runner, stream: 'stdout' | 'stderr', raw: string): void {
    const parsed = parseLogLine(stream, raw);
    const labels: Record<string, string> = {};
    for (const [key, value] of Object.entries(parsed.labels ?? {})) {
      labels[this.mask(runner.owner, key)] = this.mask(runner.owner, value);
    }
    labels.fal_job_id = runner.id;
    labels.source = stream;
    const job = this.requestOf(runner, parsed.requestId);
    const requestId = parsed.requestId ?? job?.req.requestId;
    if (requestId) labels.fal_request_id = this.mask(runner.owner, requestId);
    if (job) labels.fal_endpoint = job.req.endpointId;
    this.batch.push({
      ts: this.clock(),
      owner: runner.owner,
      app: runner.app,
      revision: runner.revisionId,
      level: parsed.level,
      message: this.mask(runner.owner, parsed.message),
      labels,
    });
    if (this.batch.length >= MAX_BATCH) this.flush();
    else if (this.scheduled === null) this.scheduled = setImmediate(() => this.flushScheduled());
  }

  /** Adds a line the platform writes about a request (a retry and its condition), labelled `source: platform`. */
  note(runner: Runner, job: Job, level: string, message: string): void {
    this.batch.push({
      ts: this.clock(),
      owner: runner.owner,
      app: runner.app,
      revision: runner.revisionId,
      level,
      message,
      labels: {
        fal_job_id: runner.id,
        source: 'platform',
        fal_request_id: job.req.requestId,
        fal_endpoint: job.req.endpointId,
      },
    });
    if (this.scheduled === null) this.scheduled = setImmediate(() => this.flushScheduled());
  }

  /** Writes the buffered lines to the store and hands them to the bus. */
  flush(): void {
    if (this.scheduled !== null) {
      clearImmediate(this.scheduled);
      this.scheduled = null;
    }
    if (this.batch.length === 0) return;
    const lines = this.batch;
    this.batch = [];
    this.store.append(lines);
    this.bus.publish(lines);
  }

  /**
   * Flushes one event-loop turn after a batch's first line: lines arriving together share one commit,
   * and live subscribers see them within milliseconds rather than on the next supervisor tick.
   */
  private flushScheduled(): void {
    this.scheduled = null;
    try {
      this.flush();
    } catch (err) {
      this.onFlushError(err);
    }
  }

  /** The request a line belongs to: the one it names, else the runner's only in-flight request. */
  private requestOf(runner: Runner, requestId: string | null): Job | undefined {
    if (requestId !== null) return this.jobs.get(requestId);
    if (runner.jobs.size !== 1) return undefined;
    return runner.jobs.values().next().value;
  }
}
