/**
 * The first `k` items by `order` among those offered: a page of `k` out of n rows costs O(n log k)
 * comparisons, not a sort of every match. The kept items sit in a heap whose root is the last of them.
 */
export class FirstK<T> {
  private readonly heap: T[] = [];

  constructor(
    private readonly k: number,
    private readonly order: (a: T, b: T) => number,
  ) {}

  offer(x: T): void {
    const h = this.heap;
    if (h.length < this.k) {
      h.push(x);
      this.up(h.length - 1);
    } else if (this.k > 0 && this.order(x, h[0]!) < 0) {
      h[0] = x;
      this.down(0);
    }
  }

  /** The kept items, in order. */
  sorted(): T[] {
    return [...this.heap].sort(this.order);
  }

  /** Whether `a` belongs nearer the root than `b` (it comes later in `order`). */
  private above(a: T, b: T): boolean {
    return this.order(a, b) > 0;
  }

  private up(i: number): void {
    const h = this.heap;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.above(h[i]!, h[parent]!)) return;
      [h[i], h[parent]] = [h[parent]!, h[i]!];
      i = parent;
    }
  }

  private down(i: number): void {
    const h = this.heap;
    for (;;) {
      let top = i;
      for (const c of [2 * i + 1, 2 * i + 2]) if (c < h.length && this.above(h[c]!, h[top]!)) top = c;
      if (top === i) return;
      [h[i], h[top]] = [h[top]!, h[i]!];
      i = top;
    }
  }
}
