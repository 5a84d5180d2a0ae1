import type { LogLine } from '@hangar/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestDb, type TestDb } from '../api/apps/testing/harness.test-helper.js';
import { SqliteLogStore } from '../store/sqlite/telemetry.js';
import { SqliteWriter } from '../store/sqlite/writer.js';
import { createLogBus } from './log-bus.js';
import { LogSink } from './log-sink.js';
import type { Runner } from './runner.js';

let t: TestDb;
beforeAll(() => {
  t = openTestDb();
});
afterAll(() => t?.close());

const runner = {
  id: 'job-1',
  owner: 'alice',
  app: 'echo',
  revisionId: 'rev-1',
  jobs: new Map(),
} as unknown as Runner;
const turn = () => new Promise((resolve) => setImmediate(resolve));

describe('LogSink', () => {
  it('hands a batch to the bus one event-loop turn after its first line, without a tick', async () => {
    const writer = new SqliteWriter(t.db);
    const bus = createLogBus();
    const got: LogLine[][] = [];
    bus.subscribe((lines) => got.push([...lines]));
    const sink = new LogSink(new SqliteLogStore(t.db, writer), bus, () => 1000, new Map());
    sink.push(runner, 'stdout', 'first');
    sink.push(runner, 'stderr', 'second');
    expect(got).toEqual([]);
    await turn();
    await turn();
    expect(got).toHaveLength(1);
    expect(got[0]?.map((l) => [l.message, typeof l.id])).toEqual([
      ['first', 'number'],
      ['second', 'number'],
    ]);
    sink.push(runner, 'stdout', 'third');
    sink.flush();
    await turn();
    await turn();
    expect(got.map((b) => b.length)).toEqual([2, 1]);
    writer.commit();
    expect(t.db.prepare('SELECT message FROM logs ORDER BY id').pluck().all()).toEqual([
      'first',
      'second',
      'third',
    ]);
  });

  it('fills the search index in the same writer batch, without an insert trigger', () => {
    const triggers = t.db
      .prepare("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'logs'")
      .pluck();
    expect(triggers.all()).not.toContain('logs_fts_insert');
    const writer = new SqliteWriter(t.db);
    const store = new SqliteLogStore(t.db, writer);
    const line = (message: string): LogLine => ({
      ts: 5,
      owner: 'alice',
      app: 'echo',
      revision: 'r',
      level: 'info',
      message,
      labels: {},
    });
    const batch = [line('alpha needle one'), line('beta'), line('gamma NEEDLE two')];
    store.append(batch);
    store.append([]);
    writer.commit();
    const hits = t.db
      .prepare("SELECT rowid FROM logs_fts WHERE message LIKE '%needle%' ORDER BY rowid")
      .pluck()
      .all();
    expect(hits).toEqual([batch[0]!.id, batch[2]!.id]);
    const check = t.db.prepare("INSERT INTO logs_fts(logs_fts, rank) VALUES ('integrity-check', 1)");
    expect(() => check.run()).not.toThrow();
  });
});
