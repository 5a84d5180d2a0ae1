import { describe, expect, it } from 'vitest';
import { planSync, type SyncInputs } from './owner-sync-plan.js';

const inputs = (over: Partial<SyncInputs>): SyncInputs => ({
  local: new Map(),
  knownAbsent: () => true,
  manifest: new Map(),
  remote: new Map(),
  previous: new Map(),
  final: false,
  ...over,
});

describe('planSync', () => {
  it('follows the store for files unchanged locally since they were synced', () => {
    const plan = planSync(
      inputs({
        local: new Map([
          ['same', { sig: 's1', size: 1 }],
          ['newer', { sig: 's2', size: 1 }],
          ['gone', { sig: 's3', size: 1 }],
        ]),
        manifest: new Map([
          ['same', { etag: 'e1', sig: 's1' }],
          ['newer', { etag: 'e2', sig: 's2' }],
          ['gone', { etag: 'e3', sig: 's3' }],
        ]),
        remote: new Map([
          ['same', { etag: 'e1', bytes: 1 }],
          ['newer', { etag: 'e2b', bytes: 1 }],
          ['fresh', { etag: 'e4', bytes: 1 }],
        ]),
      }),
    );
    expect(plan).toEqual([
      { kind: 'download', path: 'fresh', expect: null },
      { kind: 'delete-local', path: 'gone', sig: 's3' },
      { kind: 'download', path: 'newer', expect: 's2' },
    ]);
  });

  it('publishes a changed file only once stable (or at the final sync), over a newer object', () => {
    const base = {
      local: new Map([['f', { sig: 'new', size: 5 }]]),
      manifest: new Map([['f', { etag: 'e1', sig: 'old' }]]),
      remote: new Map([['f', { etag: 'e2', bytes: 3 }]]),
    };
    expect(planSync(inputs(base))).toEqual([]);
    expect(planSync(inputs({ ...base, previous: new Map([['f', 'older']]) }))).toEqual([]);
    const upload = { kind: 'upload', path: 'f', sig: 'new', size: 5, replaces: { etag: 'e2', bytes: 3 } };
    expect(planSync(inputs({ ...base, previous: new Map([['f', 'new']]) }))).toEqual([upload]);
    expect(planSync(inputs({ ...base, final: true }))).toEqual([upload]);
  });

  it('deletes an object the runner deleted, unless the store has a newer one or the walk was partial', () => {
    const manifest = new Map([
      ['a', { etag: 'e1', sig: 's' }],
      ['b', { etag: 'e1', sig: 's' }],
      ['c', { etag: 'e1', sig: 's' }],
    ]);
    const remote = new Map([
      ['a', { etag: 'e1', bytes: 1 }],
      ['b', { etag: 'e9', bytes: 1 }],
    ]);
    expect(planSync(inputs({ manifest, remote }))).toEqual([
      { kind: 'delete-remote', path: 'a' },
      { kind: 'download', path: 'b', expect: null },
      { kind: 'forget', path: 'c' },
    ]);
    expect(planSync(inputs({ manifest, remote, knownAbsent: () => false }))).toEqual([]);
  });
});
