/**
 * Orders keys as S3 lists them: by their UTF-8 bytes. (JavaScript's `<` compares UTF-16 code units,
 * which differs for characters beyond U+FFFF against those from U+E000.)
 */
export function compareKeys(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}
