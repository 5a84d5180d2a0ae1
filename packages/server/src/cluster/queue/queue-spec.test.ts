import type { AppManifest, DispatchRequest, QueuedWork } from '@hangar/core';
import { describe, expect, it } from 'vitest';
import { manifest } from '../../runners/supervisor.test-helper.js';
import { mayRetryLost, specOf, workOf } from './queue-spec.js';

const req: DispatchRequest = {
  requestId: 'r1',
  owner: 'alice',
  app: 'app',
  endpointId: 'alice/app',
  path: '/',
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: Buffer.from('{"a":1}'),
  priority: 'low',
  timeoutMs: 30_000,
  startDeadline: 123,
  noRetry: false,
  retryBudgets: null,
  runnerHint: 'h',
  sentAt: 100,
};

/** Work whose lost attempt is already counted in `attempts`. */
function lost(attempts: number, connectionRetries: number, over: Partial<DispatchRequest> = {}): QueuedWork {
  const w = workOf({ ...req, ...over }, 'node-a', 'queue');
  return { ...w, attempts, retriesBy: { server_error: 0, timeout: 0, connection_error: connectionRetries } };
}

describe('queued work', () => {
  it('carries what the executing node needs; only a relayed sync call carries its body', () => {
    const queued = workOf(req, 'node-a', 'queue');
    expect(queued).toMatchObject({
      priority: 'low',
      sentAt: 100,
      startDeadline: 123,
      acceptedBy: 'node-a',
      attempts: 0,
    });
    expect(specOf(queued)).toMatchObject({ mode: 'queue', path: '/', runnerHint: 'h', timeoutMs: 30_000 });
    expect(specOf(queued).body).toBeUndefined();
    expect(Buffer.from(specOf(workOf(req, 'node-a', 'sync')).body!, 'base64').toString()).toBe('{"a":1}');
  });

  it("retries a request lost with its node as fal's connection_error, within budgets and the ceiling", () => {
    const m: AppManifest = manifest();
    expect(mayRetryLost(lost(1, 0), specOf(lost(1, 0)), m, 10)).toBe(true);
    expect(mayRetryLost(lost(10, 0), specOf(lost(10, 0)), m, 10)).toBe(false);
    const direct = lost(1, 0, { noRetry: true });
    expect(mayRetryLost(direct, specOf(direct), m, 10)).toBe(false);
    const skip = manifest({ skip_retry_conditions: ['connection_error'] });
    expect(mayRetryLost(lost(1, 0), specOf(lost(1, 0)), skip, 10)).toBe(false);
    const budget = manifest({ retry_config: { connection_error: { retries: 2 } } });
    expect(mayRetryLost(lost(2, 1), specOf(lost(2, 1)), budget, 10)).toBe(true);
    expect(mayRetryLost(lost(3, 2), specOf(lost(3, 2)), budget, 10)).toBe(false);
    const caller = lost(1, 0, { retryBudgets: { connection_error: 0 } });
    expect(mayRetryLost(caller, specOf(caller), m, 10)).toBe(false);
    expect(mayRetryLost(lost(1, 0), specOf(lost(1, 0)), null, 10)).toBe(false);
  });
});
