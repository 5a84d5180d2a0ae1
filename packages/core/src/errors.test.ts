import { describe, expect, it } from 'vitest';
import { ERRORS, PlatformError, toEnvelope } from './errors.js';

describe('PlatformError', () => {
  it('carries the registry status and type into the fal envelope', () => {
    const err = new PlatformError('AUTH_ADMIN_REQUIRED');
    expect(err.status).toBe(403);
    expect(toEnvelope(err, 'r1')).toEqual({
      error: {
        type: 'authorization_error',
        message: ERRORS.AUTH_ADMIN_REQUIRED.message,
        code: 'AUTH_ADMIN_REQUIRED',
        request_id: 'r1',
      },
    });
  });
});
