import { EventEmitter } from 'node:events';
import type { ServerResponse } from 'node:http';
import type { LogLine } from '@hangar/core';
import { describe, expect, it, vi } from 'vitest';
import { createLogBus } from '../../runners/log-bus.js';
import { fullLine } from '../apps/testing/harness.test-helper.js';
import { lineToEntry, sseFrame } from './entry.js';
import { resolveLogFilter } from './filter.js';
import type { MatchedLines } from './matched-lines.js';
import { LogStream, type LogStreamDeps } from './stream.js';
import { createLogStreamHub, type LiveSubscriber } from './stream-hub.js';

const frame = (l: LogLine) => sseFrame(l.id, lineToEntry(l));

function subscriber(owner: string, filterKey: string, match: (l: LogLine) => boolean) {
  const got: MatchedLines[] = [];
  const sub: LiveSubscriber = { owner, filterKey, match, onLines: (b) => got.push(b), ping: () => {} };
  return { sub, got };
}

describe('log stream hub', () => {
  it('matches and serialises a batch once per distinct filter and shares the bytes', () => {
    const bus = createLogBus();
    const hub = createLogStreamHub({ bus, maxWritesPerSecond: Number.POSITIVE_INFINITY });
    let calls = 0;
    const warn = (l: LogLine) => {
      calls++;
      return l.level === 'warn';
    };
    const same = [subscriber('alice', 'warn', warn), subscriber('alice', 'warn', warn)];
    const all = subscriber('alice', 'all', () => true);
    const bob = subscriber('bob', 'warn', warn);
    const detach = [...same, all, bob].map((s) => hub.attach(s.sub));
    const lines = [
      fullLine({ message: 'a', level: 'info' }, 1),
      fullLine({ message: 'b', level: 'warn' }, 2),
      fullLine({ message: 'c', level: 'warn' }, 3),
      fullLine({ owner: 'bob', message: 'd', level: 'warn' }, 4),
    ];
    bus.publish(lines);

    expect(calls).toBe(4); // alice's three lines once for the shared filter, bob's line once
    const [a, b] = same.map((s) => s.got);
    expect(a).toHaveLength(1);
    expect(b![0]).toBe(a![0]);
    expect(a![0]!.lines.map((l) => l.message)).toEqual(['b', 'c']);
    expect(a![0]!.frames()).toBe(b![0]!.frames());
    expect(a![0]!.frames().toString()).toBe(frame(lines[1]!) + frame(lines[2]!));
    expect([a![0]!.minId, a![0]!.maxId]).toEqual([2, 3]);
    expect(all.got[0]!.lines.map((l) => l.message)).toEqual(['a', 'b', 'c']);
    expect(bob.got[0]!.lines.map((l) => l.message)).toEqual(['d']);

    for (const d of detach) d();
    bus.publish(lines);
    expect(calls).toBe(4);
    expect(same[0]!.got).toHaveLength(1);
  });

  it('after a large fan-out, merges the batches that arrive meanwhile into one write per stream', async () => {
    const bus = createLogBus();
    const hub = createLogStreamHub({ bus, maxWritesPerSecond: 100, maxFanOutDelayMs: 20 });
    const got: string[][] = [];
    const slow: LiveSubscriber = {
      owner: 'alice',
      filterKey: 'all',
      match: () => true,
      onLines: (b) => got.push(b.lines.map((l) => l.message)),
      ping: () => {},
    };
    const detach = hub.attach(slow);
    bus.publish([fullLine({ message: 'a' }, 1)]);
    expect(got).toEqual([['a']]); // nothing before it: delivered at once, then 10 ms until the next
    bus.publish([fullLine({ message: 'b' }, 2)]);
    bus.publish([fullLine({ message: 'c' }, 3), fullLine({ message: 'd' }, 4)]);
    expect(got).toHaveLength(1);
    await vi.waitFor(() => expect(got).toHaveLength(2));
    expect(got[1]).toEqual(['b', 'c', 'd']);
    detach();
  });
});

/** A response that records what is written to it. */
function fakeResponse() {
  const raw = Object.assign(new EventEmitter(), {
    writableLength: 0,
    text: '',
    write(chunk: string | Buffer) {
      raw.text += chunk.toString();
      return true;
    },
    end: () => raw.emit('close'),
    destroy: () => {},
  });
  return raw;
}

describe('LogStream live delivery', () => {
  it('writes each line once, in order, when a batch repeats lines already sent', async () => {
    const bus = createLogBus();
    const hub = createLogStreamHub({ bus, maxWritesPerSecond: Number.POSITIVE_INFINITY });
    const deps: LogStreamDeps = {
      hub,
      reads: { after: async () => [], firstIdFrom: async () => 0 },
      flushLogs: async () => {},
      now: Date.now,
      maxBufferedBytes: 1 << 20,
      dropGraceMs: 1000,
      maxPendingLines: 100,
      pageSize: 10,
      endGraceMs: 0,
    };
    const raw = fakeResponse();
    const stream = new LogStream(
      raw as unknown as ServerResponse,
      resolveLogFilter({}, null, 'alice', Date.now(), true),
      deps,
    );
    await stream.run(null);
    const ts = Date.now();
    const l = (id: number) => fullLine({ ts, message: `m${id}` }, id);
    bus.publish([l(1), l(2), l(3)]);
    bus.publish([l(2), l(3), l(4)]); // overlaps what was sent: only 4 is new
    bus.publish([l(5), l(6)]);
    expect(raw.text).toBe([1, 2, 3, 4, 5, 6].map((id) => frame(l(id))).join(''));
    raw.end();
    expect(stream.closed).toBe(true);
  });
});
