// Hot write path of the PostgreSQL store, measured with both candidate clients (`pg` 8 and `postgres` 3)
// against one PostgreSQL in the same run:
//   insert    request inserts that must commit before the id is answered: 64 callers at once, each waiting
//             for its row; one transaction per insert vs group commit (one multi-row transaction per turn)
//   update    a batch of 500 single-row UPDATEs in one transaction (sequential vs pipelined)
//   updnest   the same 500 updates as one UPDATE ... FROM unnest(...)
//   logs      batches of 1,000 log lines: multi-row INSERT VALUES, INSERT ... SELECT FROM unnest, COPY
// Usage: npx tsx bench/cluster/pg-client.mjs           (starts a throw-away PostgreSQL 15)
//        PG_URL=postgres://… node bench/cluster/pg-client.mjs
import { cpus, hostname } from 'node:os';
import pg from 'pg';

// Hangar depends on `pg` only (the choice this script supports); to measure again with both clients:
// npm i --no-save postgres@3.4.9
const postgres = await import('postgres').then(
  (m) => m.default,
  () => null,
);

const ROUNDS = Number(process.env.ROUNDS ?? 3);
let server = null;
let url = process.env.PG_URL;
if (!url) {
  const { startPostgres } = await import('../../packages/server/src/test-services/postgres.test-helper.ts');
  server = await startPostgres();
  url = await server.createDatabase('bench');
}

const DDL = `
DROP TABLE IF EXISTS breq, blog;
CREATE TABLE breq (request_id TEXT PRIMARY KEY, owner TEXT NOT NULL, endpoint_id TEXT NOT NULL,
  status TEXT NOT NULL, sent_at BIGINT NOT NULL, started_at BIGINT, status_code INTEGER, json_input TEXT,
  raw_input BYTEA);
CREATE TABLE blog (id BIGINT PRIMARY KEY, ts BIGINT NOT NULL, owner TEXT NOT NULL, request_id TEXT,
  level TEXT NOT NULL, message TEXT NOT NULL, labels TEXT NOT NULL);`;

let seq = 0;
const reqRow = () => {
  const id = `r${++seq}-${Math.random().toString(36).slice(2)}`;
  return [
    id,
    'acme',
    'acme/echo',
    'IN_QUEUE',
    Date.now(),
    null,
    null,
    '{"prompt":"a cat"}',
    Buffer.from('{"prompt":"a cat"}'),
  ];
};
let logId = 0;
const logRows = (n) =>
  Array.from({ length: n }, (_, i) => [
    ++logId,
    Date.now(),
    'acme',
    `r${i % 50}`,
    'info',
    `line ${i} of output with some text`,
    '{"source":"stdout"}',
  ]);
const cols = (rows, i) => rows.map((r) => r[i]);

/** Each client behind the same few operations. */
function pgClient() {
  const pool = new pg.Pool({ connectionString: url, max: 8 });
  return {
    name: 'pg',
    exec: (text) => pool.query(text),
    async insertEach(row) {
      await pool.query('INSERT INTO breq VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9)', row);
    },
    async insertUnnest(rows) {
      await pool.query(
        `INSERT INTO breq SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[],
          $6::bigint[], $7::int[], $8::text[], $9::bytea[])`,
        Array.from({ length: 9 }, (_, i) => cols(rows, i)),
      );
    },
    async updatesTx(ids) {
      const c = await pool.connect();
      try {
        await c.query('BEGIN');
        for (const id of ids)
          await c.query('UPDATE breq SET status = $1, started_at = $2 WHERE request_id = $3', [
            'IN_PROGRESS',
            Date.now(),
            id,
          ]);
        await c.query('COMMIT');
      } finally {
        c.release();
      }
    },
    async updatesUnnest(ids) {
      await pool.query(
        `UPDATE breq r SET status = v.s, started_at = v.t FROM unnest($1::text[], $2::text[], $3::bigint[]) AS v(id, s, t)
         WHERE r.request_id = v.id`,
        [ids, ids.map(() => 'COMPLETED'), ids.map(() => Date.now())],
      );
    },
    async logsValues(rows) {
      const ph = rows.map(
        (_, r) => `(${Array.from({ length: 7 }, (_, c) => `$${r * 7 + c + 1}`).join(',')})`,
      );
      await pool.query(`INSERT INTO blog VALUES ${ph.join(',')}`, rows.flat());
    },
    async logsUnnest(rows) {
      await pool.query(
        `INSERT INTO blog SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[])`,
        Array.from({ length: 7 }, (_, i) => cols(rows, i)),
      );
    },
    logsCopy: null, // needs pg-copy-streams, a further dependency
    end: () => pool.end(),
  };
}

function postgresClient() {
  const sql = postgres(url, { max: 8, onnotice: () => {} });
  return {
    name: 'postgres',
    exec: (text) => sql.unsafe(text),
    async insertEach(row) {
      await sql.unsafe('INSERT INTO breq VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9)', row);
    },
    async insertUnnest(rows) {
      await sql.unsafe(
        `INSERT INTO breq SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[],
          $6::bigint[], $7::int[], $8::text[], $9::bytea[])`,
        [25, 25, 25, 25, 20, 20, 23, 25, 17].map((t, i) => sql.array(cols(rows, i), t)),
      );
    },
    async updatesTx(ids) {
      await sql.begin((tx) =>
        ids.map((id) =>
          tx.unsafe('UPDATE breq SET status = $1, started_at = $2 WHERE request_id = $3', [
            'IN_PROGRESS',
            Date.now(),
            id,
          ]),
        ),
      );
    },
    async updatesUnnest(ids) {
      await sql.unsafe(
        `UPDATE breq r SET status = v.s, started_at = v.t FROM unnest($1::text[], $2::text[], $3::bigint[]) AS v(id, s, t)
         WHERE r.request_id = v.id`,
        [
          sql.array(ids, 25),
          sql.array(
            ids.map(() => 'COMPLETED'),
            25,
          ),
          sql.array(
            ids.map(() => Date.now()),
            20,
          ),
        ],
      );
    },
    async logsValues(rows) {
      const ph = rows.map(
        (_, r) => `(${Array.from({ length: 7 }, (_, c) => `$${r * 7 + c + 1}`).join(',')})`,
      );
      await sql.unsafe(`INSERT INTO blog VALUES ${ph.join(',')}`, rows.flat());
    },
    async logsUnnest(rows) {
      await sql.unsafe(
        `INSERT INTO blog SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[])`,
        [20, 20, 25, 25, 25, 25, 25].map((t, i) => sql.array(cols(rows, i), t)),
      );
    },
    async logsCopy(rows) {
      const esc = (v) =>
        v === null
          ? '\\N'
          : String(v).replace(
              /[\\\t\n\r]/g,
              (m) => ({ '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' })[m],
            );
      const text = `${rows.map((r) => r.map(esc).join('\t')).join('\n')}\n`;
      const stream = await sql`COPY blog FROM STDIN`.writable();
      await new Promise((resolve, reject) => {
        stream.on('error', reject);
        stream.on('finish', resolve);
        stream.end(text);
      });
    },
    end: () => sql.end(),
  };
}

/** Runs `fn` repeatedly for `ms` and returns items per second. */
async function rate(fn, itemsPerCall, ms = 1500) {
  const start = performance.now();
  let items = 0;
  while (performance.now() - start < ms) {
    await fn();
    items += itemsPerCall;
  }
  return items / ((performance.now() - start) / 1000);
}

/** 64 concurrent callers, each inserting and waiting for its commit. */
async function callersEach(c) {
  return rate(() => Promise.all(Array.from({ length: 64 }, () => c.insertEach(reqRow()))), 64);
}
/** Group commit: the 64 callers' rows go in one UNNEST insert per turn. */
async function callersGrouped(c) {
  return rate(() => c.insertUnnest(Array.from({ length: 64 }, reqRow)), 64);
}

async function ids(c, n) {
  const rows = await c.exec(`SELECT request_id FROM breq ORDER BY random() LIMIT ${n}`);
  return (rows.rows ?? rows).map((r) => r.request_id);
}

const results = {};
for (let round = 0; round < ROUNDS; round++) {
  for (const make of postgres ? [pgClient, postgresClient] : [pgClient]) {
    const c = make();
    await c.exec(DDL);
    if (!results[c.name]) results[c.name] = {};
    const r = results[c.name];
    const keep = (k, v) => {
      if (!r[k]) r[k] = [];
      r[k].push(v);
    };
    keep('insert: 64 callers, txn each (rows/s)', await callersEach(c));
    keep('insert: 64 callers, group commit unnest (rows/s)', await callersGrouped(c));
    const some = await ids(c, 500);
    keep('update: 500 in one txn (rows/s)', await rate(() => c.updatesTx(some), 500));
    keep('update: 500 as unnest (rows/s)', await rate(() => c.updatesUnnest(some), 500));
    keep('logs: 1000 VALUES (rows/s)', await rate(() => c.logsValues(logRows(1000)), 1000));
    keep('logs: 1000 unnest (rows/s)', await rate(() => c.logsUnnest(logRows(1000)), 1000));
    if (c.logsCopy) keep('logs: 1000 COPY (rows/s)', await rate(() => c.logsCopy(logRows(1000)), 1000));
    await c.end();
  }
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log(
  `machine: ${hostname()} ${cpus().length}x ${cpus()[0]?.model}; node ${process.version}; rounds ${ROUNDS} (median)`,
);
const keys = new Set([...Object.keys(results.pg), ...Object.keys(results.postgres ?? {})]);
const show = (x) => (x === null ? 'n/a' : String(Math.round(x)));
console.log('| operation | pg | postgres | postgres / pg |\n| --- | ---: | ---: | ---: |');
for (const k of keys) {
  const a = results.pg[k] ? median(results.pg[k]) : null;
  const b = results.postgres?.[k] ? median(results.postgres[k]) : null;
  console.log(`| ${k} | ${show(a)} | ${show(b)} | ${a === null || b === null ? '' : (b / a).toFixed(2)} |`);
}
await server?.close();
