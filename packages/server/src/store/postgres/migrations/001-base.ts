/**
 * The base schema: every table of the SQLite schema (store/sqlite/schema.ts, through its migration 11)
 * with the same table and column names. Times are epoch ms (BIGINT), flags and counts INTEGER, REAL is
 * DOUBLE PRECISION, JSON stays TEXT as SQLite keeps it, BLOB is BYTEA. requests, logs and runner_samples
 * are range-partitioned on their time column (see partitions.ts); each has a DEFAULT partition for rows
 * outside the daily/weekly partitions, so an insert never fails for want of a partition.
 */
export const sql = `
CREATE TABLE owners (
  name        TEXT PRIMARY KEY,
  created_at  BIGINT NOT NULL
);

CREATE TABLE api_keys (
  key_id       TEXT PRIMARY KEY,
  owner        TEXT NOT NULL REFERENCES owners(name),
  scope        TEXT NOT NULL CHECK (scope IN ('API', 'ADMIN')),
  name         TEXT,
  secret_hash  TEXT NOT NULL,
  created_at   BIGINT NOT NULL,
  revoked_at   BIGINT
);
CREATE INDEX api_keys_owner ON api_keys(owner);

CREATE TABLE apps (
  owner             TEXT NOT NULL,
  name              TEXT NOT NULL,
  current_revision  TEXT NOT NULL,
  created_at        BIGINT NOT NULL,
  updated_at        BIGINT NOT NULL,
  PRIMARY KEY (owner, name)
);

CREATE TABLE revisions (
  revision_id  TEXT PRIMARY KEY,
  owner        TEXT NOT NULL,
  app          TEXT NOT NULL,
  created_at   BIGINT NOT NULL,
  message      TEXT,
  annotations  TEXT,
  status       TEXT NOT NULL,
  deployed_by  TEXT,
  manifest     TEXT NOT NULL,
  dir          TEXT NOT NULL,
  bundle       TEXT
);
CREATE INDEX revisions_app ON revisions(owner, app, created_at DESC);

CREATE TABLE bundles (
  owner       TEXT NOT NULL,
  digest      TEXT NOT NULL,
  bytes       BIGINT NOT NULL,
  created_at  BIGINT NOT NULL,
  PRIMARY KEY (owner, digest)
);

CREATE TABLE app_settings (
  owner    TEXT NOT NULL,
  name     TEXT NOT NULL,
  scaling  TEXT NOT NULL DEFAULT '{}',
  rollout  TEXT,
  PRIMARY KEY (owner, name)
);

CREATE TABLE secrets (
  owner       TEXT NOT NULL,
  name        TEXT NOT NULL,
  sealed      BYTEA NOT NULL,
  key_id      TEXT NOT NULL,
  created_at  BIGINT NOT NULL,
  updated_at  BIGINT NOT NULL,
  PRIMARY KEY (owner, name)
);

-- Partitioned by sent_at (weekly), so the primary key carries it; request ids are unique by construction.
CREATE TABLE requests (
  request_id       TEXT NOT NULL,
  owner            TEXT NOT NULL,
  app              TEXT NOT NULL,
  endpoint_id      TEXT NOT NULL,
  caller_key_id    TEXT,
  method           TEXT NOT NULL,
  mode             TEXT NOT NULL,
  status           TEXT NOT NULL,
  cancelled        INTEGER NOT NULL DEFAULT 0,
  priority         TEXT NOT NULL DEFAULT 'normal',
  sent_at          BIGINT NOT NULL,
  started_at       BIGINT,
  ended_at         BIGINT,
  status_code      INTEGER,
  prepare_ms       BIGINT,
  duration_ms      BIGINT,
  runner_id        TEXT,
  cold_start       INTEGER NOT NULL DEFAULT 0,
  cold_boot_ms     BIGINT,
  billable_units   DOUBLE PRECISION,
  error_class      TEXT,
  attempts         INTEGER NOT NULL DEFAULT 0,
  store_io         INTEGER NOT NULL DEFAULT 1,
  json_input       TEXT,
  json_output      TEXT,
  timeout_s        DOUBLE PRECISION,
  webhook_url      TEXT,
  raw_input        BYTEA,
  result_status    INTEGER,
  result_type      TEXT,
  result_body      BYTEA,
  result_expires   BIGINT,
  result_headers   TEXT,
  payload_objects  INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (request_id, sent_at)
) PARTITION BY RANGE (sent_at);
CREATE TABLE requests_default PARTITION OF requests DEFAULT;
CREATE INDEX requests_endpoint_ended ON requests(endpoint_id, ended_at DESC, request_id);
CREATE INDEX requests_endpoint_sent ON requests(endpoint_id, sent_at);
CREATE INDEX requests_unfinished ON requests(status) WHERE status <> 'COMPLETED';
CREATE INDEX requests_result_expires ON requests(result_expires) WHERE result_expires IS NOT NULL;
CREATE INDEX requests_endpoint_class_ended ON requests(endpoint_id, (status_code / 100), ended_at DESC, request_id);
CREATE INDEX requests_endpoint_duration
  ON requests(endpoint_id, (COALESCE(duration_ms, -1)) DESC, request_id, ended_at) WHERE ended_at IS NOT NULL;

-- Log line ids come from this sequence, drawn under an advisory transaction lock by the log writer so
-- that ids increase in commit order across nodes (see store/postgres/logs.ts).
CREATE SEQUENCE logs_id_seq AS BIGINT;
CREATE TABLE logs (
  id          BIGINT NOT NULL DEFAULT nextval('logs_id_seq'),
  ts          BIGINT NOT NULL,
  owner       TEXT NOT NULL,
  app         TEXT NOT NULL,
  revision    TEXT NOT NULL,
  level       TEXT NOT NULL,
  message     TEXT NOT NULL,
  request_id  TEXT,
  job_id      TEXT,
  endpoint    TEXT,
  source      TEXT,
  labels      TEXT NOT NULL,
  PRIMARY KEY (id, ts)
) PARTITION BY RANGE (ts);
CREATE TABLE logs_default PARTITION OF logs DEFAULT;
CREATE INDEX logs_owner_ts ON logs(owner, ts DESC, id DESC);
CREATE INDEX logs_request ON logs(request_id, ts) WHERE request_id IS NOT NULL;
CREATE INDEX logs_job ON logs(job_id, ts) WHERE job_id IS NOT NULL;

CREATE TABLE events (
  event_id    TEXT PRIMARY KEY,
  owner       TEXT NOT NULL,
  app         TEXT NOT NULL,
  category    TEXT NOT NULL,
  created_at  BIGINT NOT NULL,
  payload     TEXT NOT NULL
);
CREATE INDEX events_app ON events(owner, app, created_at DESC);

CREATE TABLE runner_samples (
  ts        BIGINT NOT NULL,
  owner     TEXT NOT NULL,
  app       TEXT NOT NULL,
  pending   INTEGER NOT NULL,
  setup     INTEGER NOT NULL,
  idle      INTEGER NOT NULL,
  running   INTEGER NOT NULL,
  draining  INTEGER NOT NULL
) PARTITION BY RANGE (ts);
CREATE TABLE runner_samples_default PARTITION OF runner_samples DEFAULT;
CREATE INDEX runner_samples_app ON runner_samples(owner, app, ts);

CREATE TABLE meter (
  runner_id     TEXT NOT NULL,
  minute        BIGINT NOT NULL,
  owner         TEXT NOT NULL,
  app           TEXT NOT NULL,
  environment   TEXT NOT NULL,
  machine_type  TEXT NOT NULL,
  is_surge      INTEGER NOT NULL,
  seconds       DOUBLE PRECISION NOT NULL,
  PRIMARY KEY (runner_id, minute)
);
CREATE INDEX meter_owner_minute ON meter(owner, minute);

CREATE TABLE runners (
  runner_id      TEXT PRIMARY KEY,
  owner          TEXT NOT NULL,
  app            TEXT NOT NULL,
  revision_id    TEXT NOT NULL,
  machine_type   TEXT NOT NULL,
  pid            TEXT,            -- the driver's ref: a pid, a Pod name
  state          TEXT NOT NULL,
  started_at     BIGINT NOT NULL,
  ended_at       BIGINT,
  metered_until  BIGINT NOT NULL,
  state_since    BIGINT,
  state_times    TEXT,
  gpu_usage      TEXT
);
CREATE INDEX runners_live ON runners(ended_at) WHERE ended_at IS NULL;
`;
