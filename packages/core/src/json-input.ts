/** How complex a JSON request body may be (`limits.json_input` in the server's config). */
export interface JsonInputLimits {
  /** Deepest nesting of arrays and objects; `[]` and `{}` are depth 1. */
  readonly maxDepth: number;
  /** Object members plus array elements, counted over the whole body. */
  readonly maxItems: number;
  /** Longest string (keys included), in bytes as sent: escape sequences count as written. */
  readonly maxStringBytes: number;
}

/** The first limit a body breaks, with the limit's value. */
export interface JsonInputExcess {
  limit: 'max_depth' | 'max_items' | 'max_string_bytes';
  max: number;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;

/** 1 for every byte the scan passes over; 0 for quotes, commas and brackets. */
const PLAIN = new Uint8Array(256).fill(1);
for (const c of [QUOTE, COMMA, OPEN_ARRAY, CLOSE_ARRAY, OPEN_OBJECT, CLOSE_OBJECT]) PLAIN[c] = 0;

/** Strings at least this long are searched for their end with `indexOf` (native) instead of byte by byte. */
const LONG_STRING = 64;

/**
 * Measures a JSON text's nesting, item count and string lengths in one pass over its bytes, without
 * parsing it: no allocation, no recursion, O(bytes). Returns the first limit it breaks, or null.
 * Malformed JSON is measured as far as its brackets and quotes go; rejecting it is the parser's job.
 */
export function checkJsonInput(bytes: Uint8Array, limits: JsonInputLimits): JsonInputExcess | null {
  const n = bytes.length;
  const { maxDepth, maxStringBytes } = limits;
  let depth = 0;
  let commas = 0;
  let containers = 0;
  let empty = 0;
  for (let i = 0; i < n; i++) {
    const c = bytes[i]!;
    // Most bytes (digits, letters, whitespace) are none of those below: one table load passes them.
    if (PLAIN[c] === 1) continue;
    if (c === QUOTE) {
      const end = stringEnd(bytes, i + 1, n);
      if (end - i - 1 > maxStringBytes) return { limit: 'max_string_bytes', max: maxStringBytes };
      i = end;
    } else if (c === COMMA) {
      commas++;
    } else if (c === OPEN_ARRAY || c === OPEN_OBJECT) {
      if (++depth > maxDepth) return { limit: 'max_depth', max: maxDepth };
      containers++;
    } else if (c === CLOSE_ARRAY || c === CLOSE_OBJECT) {
      if (depth > 0) depth--;
      if (opensBefore(bytes, i)) empty++;
    }
  }
  // Each comma separates two items, so a non-empty container holds one item more than it has commas.
  const items = commas + containers - empty;
  return items > limits.maxItems ? { limit: 'max_items', max: limits.maxItems } : null;
}

/** Index of the quote closing the string whose content starts at `from` (`n` when it never closes). */
function stringEnd(bytes: Uint8Array, from: number, n: number): number {
  // Short strings (keys, enum values) end before a native call would pay off.
  const stop = Math.min(n, from + LONG_STRING);
  let i = from;
  for (; i < stop; i++) {
    const c = bytes[i]!;
    if (c === QUOTE) return i;
    if (c === BACKSLASH) i++;
  }
  if (i >= n) return n;
  for (;;) {
    const q = bytes.indexOf(QUOTE, i);
    if (q === -1) return n;
    // The quote is escaped when an odd number of backslashes precede it.
    let k = q - 1;
    while (k >= i && bytes[k] === BACKSLASH) k--;
    if ((q - 1 - k) % 2 === 0) return q;
    i = q + 1;
  }
}

/** True when the closing bracket at `at` follows its opening bracket with only whitespace between. */
function opensBefore(bytes: Uint8Array, at: number): boolean {
  let k = at - 1;
  while (k >= 0) {
    const c = bytes[k]!;
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) break;
    k--;
  }
  return k >= 0 && (bytes[k] === OPEN_ARRAY || bytes[k] === OPEN_OBJECT);
}
