/** What the queue needs to order an entry. */
export interface Queued {
  readonly req: { readonly priority: 'normal' | 'low'; readonly sentAt: number; readonly requestId: string };
}

/**
 * A FIFO deque with a moving head, so taking the front is O(1); entries stay ordered by `sentAt`
 * (appends are the common case; a retried or resumed entry is inserted at its place).
 */
class Deque<T extends Queued> {
  private items: T[] = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  insert(item: T): void {
    const items = this.items;
    const sentAt = item.req.sentAt;
    const last = items[items.length - 1];
    if (items.length === this.head || (last !== undefined && last.req.sentAt <= sentAt)) {
      items.push(item);
      return;
    }
    let lo = this.head;
    let hi = items.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (items[mid]!.req.sentAt <= sentAt) lo = mid + 1;
      else hi = mid;
    }
    items.splice(lo, 0, item);
  }

  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const item = this.items[this.head];
    this.items[this.head] = undefined as unknown as T;
    this.head++;
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    } else if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }

  peek(): T | undefined {
    return this.head < this.items.length ? this.items[this.head] : undefined;
  }

  indexOf(item: T): number {
    const i = this.items.indexOf(item, this.head);
    return i === -1 ? -1 : i - this.head;
  }

  remove(item: T): boolean {
    const i = this.items.indexOf(item, this.head);
    if (i === -1) return false;
    this.items.splice(i, 1);
    return true;
  }

  drainAll(): T[] {
    const rest = this.items.slice(this.head);
    this.items = [];
    this.head = 0;
    return rest;
  }

  toArray(): T[] {
    return this.items.slice(this.head);
  }
}

/** An app's waiting work: every normal-priority entry before any low one, each class oldest `sentAt` first. */
export class JobQueue<T extends Queued> {
  private readonly normal = new Deque<T>();
  private readonly low = new Deque<T>();

  get length(): number {
    return this.normal.length + this.low.length;
  }

  push(item: T): void {
    (item.req.priority === 'low' ? this.low : this.normal).insert(item);
  }

  shift(): T | undefined {
    return this.normal.length > 0 ? this.normal.shift() : this.low.shift();
  }

  /** The entry `shift` would take, left in place. */
  peek(): T | undefined {
    return this.normal.length > 0 ? this.normal.peek() : this.low.peek();
  }

  /** Entries ahead of `item` (0-based), or -1 when it is not queued. */
  position(item: T): number {
    if (item.req.priority === 'low') {
      const i = this.low.indexOf(item);
      return i === -1 ? -1 : this.normal.length + i;
    }
    return this.normal.indexOf(item);
  }

  remove(item: T): boolean {
    return (item.req.priority === 'low' ? this.low : this.normal).remove(item);
  }

  /** Empties the queue, returning what it held in order. */
  drainAll(): T[] {
    return [...this.normal.drainAll(), ...this.low.drainAll()];
  }

  /** A snapshot in order (for expiry scans). */
  toArray(): T[] {
    return [...this.normal.toArray(), ...this.low.toArray()];
  }
}
