/**
 * Orders keys as S3 lists them: by their UTF-8 bytes, which is Unicode code point order. JavaScript's
 * `<` compares UTF-16 code units, which agrees except when a surrogate (a character beyond U+FFFF) meets
 * a unit from U+E000 on: only then is the order fixed up, so no bytes are encoded.
 */
export function compareKeys(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    if (x >= 0xd800 && y >= 0xd800) return codePointRank(x) - codePointRank(y);
    return x - y;
  }
  return a.length - b.length;
}

/** A UTF-16 unit from U+D800 up, ranked so surrogates (beyond U+FFFF) sort after U+E000–U+FFFF. */
function codePointRank(unit: number): number {
  return unit <= 0xdfff ? unit + 0x10000 : unit;
}

/** Sorts keys in place in {@link compareKeys} order (the engine's native sort when no surrogate occurs). */
export function sortKeys(keys: string[]): string[] {
  if (keys.some((k) => SURROGATE.test(k))) return keys.sort(compareKeys);
  return keys.sort();
}

const SURROGATE = /[\uD800-\uDFFF]/;
