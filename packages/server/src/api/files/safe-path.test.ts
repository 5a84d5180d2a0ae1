import { PlatformError } from '@hangar/core';
import { describe, expect, it } from 'vitest';
import { parseFilePath, parseRawFilePath } from './safe-path.js';

function code(fn: () => unknown): string | null {
  try {
    fn();
    return null;
  } catch (err) {
    return err instanceof PlatformError ? err.code : `unexpected ${String(err)}`;
  }
}

describe('parseRawFilePath', () => {
  it.each([
    ['', []],
    ['datasets', ['datasets']],
    ['datasets/images/cat.jpg', ['datasets', 'images', 'cat.jpg']],
    ['datasets/images/', ['datasets', 'images']],
    ['a//b', ['a', 'b']],
    ['data/models/x.bin', ['models', 'x.bin']],
    ['/data/models/x.bin', ['models', 'x.bin']],
    ['/data', []],
    ['data', []],
    ['database/x', ['database', 'x']],
    ['my%20file.txt', ['my file.txt']],
    ['caf%C3%A9', ['café']],
    ['100%25', ['100%']],
    ['..foo/bar..', ['..foo', 'bar..']],
    ['.hidden', ['.hidden']],
  ])('accepts %j', (raw, segments) => {
    expect(parseRawFilePath(raw)).toEqual(segments);
  });

  it.each([
    '..',
    '../x',
    'a/../../x',
    'a/..',
    './a',
    'a/./b',
    '%2e%2e',
    '%2E%2E/x',
    '.%2e/x',
    'a/%2e%2e/%2e%2e/x',
    '..%2fx',
    'a%2f..%2f..%2fx',
    'a%2Fb',
    '%252e%252e/x',
    'a%252fb',
    '%25252e',
    'a\\b',
    '..\\x',
    'a%5c..%5cx',
    'a%5Cb',
    'a%00b',
    'a\u0000b',
    'a%0ab',
    '/etc/passwd',
    '//etc/passwd',
    '/datax/y',
    'C:',
    'c:/windows',
    '%E0%A4%A',
    '%c0%ae%c0%ae/x',
    '.hangar-tmp-123',
    `a/${'x'.repeat(256)}`,
    'a/'.repeat(3000),
  ])('refuses %j with FILES_PATH_INVALID', (raw) => {
    expect(code(() => parseRawFilePath(raw))).toBe('FILES_PATH_INVALID');
  });
});

describe('parseFilePath (decoded, e.g. a JSON body)', () => {
  it('accepts plain relative and /data paths', () => {
    expect(parseFilePath('a/b.txt')).toEqual(['a', 'b.txt']);
    expect(parseFilePath('/data/a/b.txt')).toEqual(['a', 'b.txt']);
  });
  it.each(['../x', 'a/../../x', '/etc/x', 'a\\b', 'a\u0000', '%2e%2e/x'])('refuses %j', (p) => {
    expect(code(() => parseFilePath(p))).toBe('FILES_PATH_INVALID');
  });
});
