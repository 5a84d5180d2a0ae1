import { describe, expect, it } from 'vitest';
import { parseRetryConfig, retryBudgetOf } from './retry-config.js';

describe('parseRetryConfig', () => {
  it('reads fal\'s {"condition": {"retries": N}} form', () => {
    expect(parseRetryConfig('{"timeout":{"retries":0},"server_error":{"retries":3}}')).toEqual({
      timeout: 0,
      server_error: 3,
    });
  });

  it('ignores invalid JSON, unknown conditions and the shorthand form', () => {
    expect(parseRetryConfig('not json')).toBeNull();
    expect(parseRetryConfig('[1]')).toBeNull();
    expect(parseRetryConfig('{"server_error":3}')).toBeNull();
    expect(parseRetryConfig('{"bogus":{"retries":1},"timeout":{"retries":-1}}')).toBeNull();
    expect(parseRetryConfig('{"bogus":{"retries":1},"connection_error":{"retries":2}}')).toEqual({
      connection_error: 2,
    });
    expect(parseRetryConfig(undefined)).toBeNull();
  });
});

describe('retryBudgetOf', () => {
  const m = { skip_retry_conditions: ['timeout' as const], retry_config: { server_error: { retries: 2 } } };

  it('takes the caller first, then skip_retry_conditions, then retry_config, else unlimited', () => {
    expect(retryBudgetOf('timeout', { timeout: 4 }, m)).toBe(4);
    expect(retryBudgetOf('timeout', null, m)).toBe(0);
    expect(retryBudgetOf('server_error', null, m)).toBe(2);
    expect(retryBudgetOf('connection_error', null, m)).toBe(Number.POSITIVE_INFINITY);
    expect(retryBudgetOf('server_error', {}, {})).toBe(Number.POSITIVE_INFINITY);
  });
});
