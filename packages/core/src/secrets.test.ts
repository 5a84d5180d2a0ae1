import { describe, expect, it } from 'vitest';
import type { PlatformError } from './errors.js';
import { checkSecretName, checkSecretValue, createSecretMasker, SECRET_VALUE_MAX_BYTES } from './secrets.js';

const codeOf = (fn: () => void): string | null => {
  try {
    fn();
    return null;
  } catch (err) {
    return (err as PlatformError).code;
  }
};

describe('secret names', () => {
  it('accepts environment variable names', () => {
    for (const name of ['HF_TOKEN', '_X', 'A1', 'DB_PASSWORD_2', 'PORTAL', 'DATA_DIRECTORY']) {
      expect(codeOf(() => checkSecretName(name))).toBeNull();
    }
  });

  it('refuses other spellings', () => {
    for (const name of ['', 'hf_token', '1A', 'A-B', 'A B', 'Ä', 'A'.repeat(129)]) {
      expect(codeOf(() => checkSecretName(name))).toBe('SECRET_NAME_INVALID');
    }
  });

  it('refuses names the platform sets, with a message naming the rule', () => {
    for (const name of [
      'PORT',
      'DATA_DIR',
      'PATH',
      'HANGAR_APP',
      'HANGAR_',
      'FAL_KEY',
      'CUDA_VISIBLE_DEVICES',
    ]) {
      expect(codeOf(() => checkSecretName(name))).toBe('SECRET_NAME_RESERVED');
    }
    expect(() => checkSecretName('FAL_KEY')).toThrow(/names starting with FAL_/);
  });
});

describe('secret values', () => {
  it('takes 1 to 32768 UTF-8 bytes without NUL', () => {
    expect(codeOf(() => checkSecretValue('x'))).toBeNull();
    expect(codeOf(() => checkSecretValue('é'.repeat(SECRET_VALUE_MAX_BYTES / 2)))).toBeNull();
    expect(codeOf(() => checkSecretValue(''))).toBe('SECRET_VALUE_INVALID');
    expect(codeOf(() => checkSecretValue('é'.repeat(SECRET_VALUE_MAX_BYTES / 2 + 1)))).toBe(
      'SECRET_VALUE_INVALID',
    );
    expect(codeOf(() => checkSecretValue('a\0b'))).toBe('SECRET_VALUE_INVALID');
    expect(codeOf(() => checkSecretValue('\ud800'))).toBe('SECRET_VALUE_INVALID');
  });
});

describe('createSecretMasker', () => {
  it('masks every occurrence, longest value first', () => {
    const mask = createSecretMasker(['hunter2', 'hunter2-extended']);
    expect(mask('a hunter2 b hunter2-extended c hunter2')).toBe('a *** b *** c ***');
  });

  it('leaves values shorter than the minimum, and text without secrets', () => {
    const mask = createSecretMasker(['abc', 'abcd']);
    expect(mask('abc abcd ab')).toBe('abc *** ab');
    expect(createSecretMasker([])('anything')).toBe('anything');
  });

  it('masks the JSON-escaped spelling and each line of a value spanning lines', () => {
    const mask = createSecretMasker(['pa"ss\\word', 'line-one\nline-two']);
    expect(mask(JSON.stringify({ v: 'pa"ss\\word' }))).toBe('{"v":"***"}');
    expect(mask('got line-one')).toBe('got ***');
    expect(mask('got line-two')).toBe('got ***');
    expect(mask(JSON.stringify('line-one\nline-two'))).toBe('"***"');
  });
});
