import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SqliteWriter } from './writer.js';

describe('SqliteWriter', () => {
  let db: Database.Database;
  let errors: string[];
  const logger = { error: (_obj: object, msg: string) => void errors.push(msg) };

  beforeEach(() => {
    db = new Database(':memory:');
    db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)');
    errors = [];
  });
  afterEach(() => db.close());

  const rows = () => db.prepare('SELECT id, v FROM t ORDER BY id').all();

  it('commits queued rows in order on the next tick and resolves awaited ones after the commit', async () => {
    const w = new SqliteWriter(db, { logger });
    const insert = db.prepare('INSERT INTO t (id, v) VALUES (?, ?)');
    const update = db.prepare('UPDATE t SET v = ? WHERE id = ?');
    const done = w.enqueueAwait(insert, [1, 'a']);
    w.enqueue(update, ['b', 1]);
    expect(w.pending).toBe(2);
    expect(rows()).toEqual([]);
    expect(await done).toBe(1);
    expect(rows()).toEqual([{ id: 1, v: 'b' }]);
    expect(w.pending).toBe(0);
  });

  it('waits for the interval, or commits at once when maxPending rows are queued', async () => {
    const w = new SqliteWriter(db, { logger, flushIntervalMs: 5, maxPending: 3 });
    const insert = db.prepare('INSERT INTO t (id, v) VALUES (?, ?)');
    w.enqueue(insert, [1, 'a']);
    w.enqueue(insert, [2, 'b']);
    expect(rows()).toHaveLength(0);
    w.enqueue(insert, [3, 'c']);
    expect(rows()).toHaveLength(3);
    await w.enqueueAwait(insert, [4, 'd']);
    expect(rows()).toHaveLength(4);
  });

  it('lets a read wait for the pending batch instead of committing it early', async () => {
    const w = new SqliteWriter(db, { logger, flushIntervalMs: 30 });
    const insert = db.prepare('INSERT INTO t (id, v) VALUES (?, ?)');
    await w.settled();
    w.enqueue(insert, [1, 'a']);
    const settled = w.settled();
    w.enqueue(insert, [2, 'b']);
    expect(rows()).toHaveLength(0);
    await settled;
    expect(rows()).toHaveLength(2);
    w.enqueue(insert, [3, 'c']);
    w.commit();
    await w.settled();
    expect(rows()).toHaveLength(3);
  });

  it('retries a failed batch row by row, logging the bad row and keeping the others', async () => {
    const w = new SqliteWriter(db, { logger });
    const insert = db.prepare('INSERT INTO t (id, v) VALUES (?, ?)');
    w.enqueue(insert, [1, 'a']);
    w.enqueue(insert, [2, null]);
    const last = w.enqueueAwait(insert, [3, 'c']);
    await expect(last).resolves.toBe(1);
    expect(rows()).toEqual([
      { id: 1, v: 'a' },
      { id: 3, v: 'c' },
    ]);
    expect(errors).toEqual(['store batch failed; retrying row by row', 'store row write failed']);
  });

  it('commits on close and refuses later writes', async () => {
    const w = new SqliteWriter(db, { logger });
    const insert = db.prepare('INSERT INTO t (id, v) VALUES (?, ?)');
    w.enqueue(insert, [1, 'a']);
    w.close();
    expect(rows()).toHaveLength(1);
    await expect(w.enqueueAwait(insert, [2, 'b'])).rejects.toMatchObject({ code: 'SERVER_SHUTTING_DOWN' });
    w.enqueue(insert, [3, 'c']);
    expect(errors).toEqual(['store write after close dropped']);
    expect(rows()).toHaveLength(1);
  });
});
