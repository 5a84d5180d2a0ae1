// A DDSketch-style quantile sketch: values fall in logarithmic bins (γ = (1+α)/(1−α)), so any quantile is
// answered within relative error α of a value of the data at that rank. Counts are integers, so two
// sketches merge exactly by adding bins, in any order: per-minute sketches roll up to hours and windows.

/** Relative accuracy of every quantile estimate. */
export const SKETCH_RELATIVE_ACCURACY = 0.005;

const GAMMA = (1 + SKETCH_RELATIVE_ACCURACY) / (1 - SKETCH_RELATIVE_ACCURACY);
const LN_GAMMA = Math.log(GAMMA);
/** Values below this (and zero or negative ones) are counted in the zero bin and estimated as 0. */
const MIN_INDEXABLE = 1e-9;
const FORMAT_VERSION = 1;

const indexOf = (x: number) => Math.ceil(Math.log(x) / LN_GAMMA);
const binValue = (i: number) => (2 * Math.exp(i * LN_GAMMA)) / (GAMMA + 1);

/** The rank (0-based) a quantile resolves to: the lower nearest rank, `floor(q · (n − 1))`. */
export function quantileRank(q: number, n: number): number {
  return Math.floor(Math.min(1, Math.max(0, q)) * (n - 1));
}

/** A mergeable quantile sketch of non-negative values. */
export class QuantileSketch {
  private counts = new Float64Array(0);
  /** Bin index held at `counts[0]`. */
  private base = 0;
  zeroCount = 0;
  count = 0;
  min = Number.POSITIVE_INFINITY;
  max = Number.NEGATIVE_INFINITY;

  /** Adds `n` occurrences of `value`. */
  add(value: number, n = 1): void {
    if (!(n > 0) || Number.isNaN(value)) return;
    this.count += n;
    if (value < this.min) this.min = value;
    if (value > this.max) this.max = value;
    if (value < MIN_INDEXABLE) this.zeroCount += n;
    else this.addBin(indexOf(value), n);
  }

  /** Adds every value of `other` to this sketch. */
  merge(other: QuantileSketch): void {
    if (other.count === 0) return;
    this.mergeStats(other.count, other.zeroCount, other.min, other.max);
    for (let k = 0; k < other.counts.length; k++) {
      const c = other.counts[k]!;
      if (c > 0) this.addBin(other.base + k, c);
    }
  }

  /** Adds every value of an encoded sketch (see `encode`). */
  mergeEncoded(buf: Uint8Array): void {
    const r = new Reader(buf);
    const h = readHeader(r);
    if (h.count === 0) return;
    this.mergeStats(h.count, h.zeroCount, h.min, h.max);
    let index = 0;
    for (let b = 0; b < h.bins; b++) {
      index = b === 0 ? r.zigzag() : index + r.varint();
      this.addBin(index, r.varint());
    }
  }

  /** The estimate of quantile `q` (0..1), or null when the sketch is empty. */
  quantile(q: number): number | null {
    return this.quantiles([q])[0]!;
  }

  /** Estimates of several quantiles in one pass. */
  quantiles(qs: readonly number[]): (number | null)[] {
    const { counts, base } = this;
    let k = -1;
    const cursor: BinCursor = {
      index: 0,
      count: 0,
      next() {
        do k++;
        while (!(counts[k]! > 0));
        this.index = base + k;
        this.count = counts[k]!;
      },
    };
    let bins = 0;
    for (const c of counts) if (c > 0) bins++;
    return resolveQuantiles(qs, this, bins, cursor);
  }

  /** Compact binary form: varint-encoded bin deltas and counts. */
  encode(): Buffer {
    const w = new Writer();
    w.byte(FORMAT_VERSION);
    w.varint(this.count);
    if (this.count === 0) return w.done();
    w.float(this.min);
    w.float(this.max);
    w.varint(this.zeroCount);
    let bins = 0;
    for (const c of this.counts) if (c > 0) bins++;
    w.varint(bins);
    let prev: number | null = null;
    for (let k = 0; k < this.counts.length; k++) {
      if (!(this.counts[k]! > 0)) continue;
      const index = this.base + k;
      if (prev === null) w.zigzag(index);
      else w.varint(index - prev);
      w.varint(this.counts[k]!);
      prev = index;
    }
    return w.done();
  }

  /** Rebuilds a sketch from `encode` output. */
  static decode(buf: Uint8Array): QuantileSketch {
    const s = new QuantileSketch();
    s.mergeEncoded(buf);
    return s;
  }

  private mergeStats(count: number, zeroCount: number, min: number, max: number): void {
    this.count += count;
    this.zeroCount += zeroCount;
    if (min < this.min) this.min = min;
    if (max > this.max) this.max = max;
  }

  private addBin(index: number, n: number): void {
    if (this.counts.length === 0) {
      this.counts = new Float64Array(64);
      this.base = index - 32;
    } else if (index < this.base || index >= this.base + this.counts.length) {
      const lo = Math.min(index, this.base);
      const hi = Math.max(index + 1, this.base + this.counts.length);
      const size = Math.max(hi - lo, this.counts.length * 2);
      const grown = new Float64Array(size);
      const newBase = index < this.base ? hi - size : lo;
      grown.set(this.counts, this.base - newBase);
      this.counts = grown;
      this.base = newBase;
    }
    this.counts[index - this.base]! += n;
  }
}

/** Steps through non-empty bins in increasing index order without allocating. */
interface BinCursor {
  index: number;
  count: number;
  next(): void;
}

/** Quantile estimates straight from an encoded sketch, in one streaming pass (null when empty). */
export function encodedQuantiles(buf: Uint8Array, qs: readonly number[]): (number | null)[] {
  const r = new Reader(buf);
  const h = readHeader(r);
  let read = 0;
  const cursor: BinCursor = {
    index: 0,
    count: 0,
    next() {
      this.index = read++ === 0 ? r.zigzag() : this.index + r.varint();
      this.count = r.varint();
    },
  };
  return resolveQuantiles(qs, h, h.bins, cursor);
}

function resolveQuantiles(
  qs: readonly number[],
  h: Omit<Header, 'bins'>,
  binCount: number,
  bins: BinCursor,
): (number | null)[] {
  const { count, zeroCount, min, max } = h;
  const out: (number | null)[] = new Array(qs.length).fill(null);
  if (count === 0) return out;
  const order = qs.map((_, i) => i).sort((a, b) => qs[a]! - qs[b]!);
  let cumulative = zeroCount;
  let taken = 0;
  for (const i of order) {
    const rank = quantileRank(qs[i]!, count);
    while (rank >= cumulative && taken < binCount) {
      bins.next();
      cumulative += bins.count;
      taken++;
    }
    // The extremes are kept exactly; everything between comes from its bin.
    if (rank === 0) out[i] = min;
    else if (rank === count - 1) out[i] = max;
    else out[i] = Math.min(max, Math.max(min, rank < zeroCount ? 0 : binValue(bins.index)));
  }
  return out;
}

interface Header {
  count: number;
  zeroCount: number;
  min: number;
  max: number;
  bins: number;
}

function readHeader(r: Reader): Header {
  if (r.byte() !== FORMAT_VERSION) throw new Error('unknown sketch format');
  const count = r.varint();
  if (count === 0) return { count, zeroCount: 0, min: 0, max: 0, bins: 0 };
  const min = r.float();
  const max = r.float();
  return { count, min, max, zeroCount: r.varint(), bins: r.varint() };
}

class Writer {
  private buf = new Uint8Array(64);
  private pos = 0;
  private reserve(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const grown = new Uint8Array(Math.max(this.buf.length * 2, this.pos + n));
    grown.set(this.buf);
    this.buf = grown;
  }
  byte(b: number): void {
    this.reserve(1);
    this.buf[this.pos++] = b;
  }
  /** Unsigned LEB128 of a non-negative safe integer (arithmetic, not bitwise, so above 2^31 works). */
  varint(v: number): void {
    let n = Math.round(v);
    while (n >= 0x80) {
      this.byte((n % 0x80) | 0x80);
      n = Math.floor(n / 0x80);
    }
    this.byte(n);
  }
  zigzag(v: number): void {
    this.varint(v < 0 ? -2 * v - 1 : 2 * v);
  }
  float(v: number): void {
    this.reserve(8);
    new DataView(this.buf.buffer).setFloat64(this.pos, v, true);
    this.pos += 8;
  }
  done(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.pos));
  }
}

class Reader {
  private pos = 0;
  private readonly view: DataView;
  constructor(private readonly buf: Uint8Array) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }
  byte(): number {
    if (this.pos >= this.buf.length) throw new Error('truncated sketch');
    return this.buf[this.pos++]!;
  }
  varint(): number {
    let result = 0;
    let scale = 1;
    for (;;) {
      const b = this.byte();
      result += (b & 0x7f) * scale;
      if (b < 0x80) return result;
      scale *= 0x80;
    }
  }
  zigzag(): number {
    const v = this.varint();
    return v % 2 === 0 ? v / 2 : -(v + 1) / 2;
  }
  float(): number {
    const v = this.view.getFloat64(this.pos, true);
    this.pos += 8;
    return v;
  }
}
