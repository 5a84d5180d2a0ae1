/** A store write worth making only if its request is still running once `dueAt` has passed. */
export interface LateWrite {
  readonly dueAt: number;
  /** Called once at or after `dueAt`, unless the write was dropped first. */
  fire(): void;
}

/**
 * Fires late writes once their delay has passed, with one timer for all of them instead of one per
 * request. A write is dropped as soon as its request finishes, so nothing outlives its request (a
 * quick request's objects die young instead of being promoted). Every write shares the same delay, so
 * insertion order is due order.
 */
export class LateWrites {
  private readonly pending = new Set<LateWrite>();
  private timer: NodeJS.Timeout | null = null;

  constructor(
    /** How long after being added a write falls due. */
    readonly delayMs: number,
    private readonly now: () => number,
    /** How often due writes are looked for (the precision of the delay). */
    private readonly tickMs = Math.max(10, Math.floor(delayMs / 5)),
  ) {}

  /** The `dueAt` of a write added now. */
  dueFromNow(): number {
    return this.now() + this.delayMs;
  }

  add(write: LateWrite): void {
    this.pending.add(write);
    if (this.timer === null) {
      this.timer = setInterval(() => this.fireDue(), this.tickMs);
      this.timer.unref();
    }
  }

  /** Forgets a write that is no longer needed. */
  drop(write: LateWrite): void {
    this.pending.delete(write);
  }

  /** Fires every write that is due. */
  fireDue(): void {
    const now = this.now();
    for (const write of this.pending) {
      if (write.dueAt > now) break;
      this.pending.delete(write);
      write.fire();
    }
    if (this.pending.size === 0) this.stop();
  }

  /** Stops the timer and drops pending writes (their requests record their own completion). */
  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    this.pending.clear();
  }
}
