/**
 * The SQLite schema: the contract between the writers (gateway, runners) and the Platform API readers.
 * Times are epoch milliseconds (INTEGER). Migrations are applied in order and recorded in `user_version`.
 */
export const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE owners (
    name        TEXT PRIMARY KEY,
    created_at  INTEGER NOT NULL
  );

  CREATE TABLE api_keys (
    key_id       TEXT PRIMARY KEY,
    owner        TEXT NOT NULL REFERENCES owners(name),
    scope        TEXT NOT NULL CHECK (scope IN ('API', 'ADMIN')),
    name         TEXT,
    secret_hash  TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    revoked_at   INTEGER
  );
  CREATE INDEX api_keys_owner ON api_keys(owner);

  CREATE TABLE apps (
    owner             TEXT NOT NULL,
    name              TEXT NOT NULL,
    current_revision  TEXT NOT NULL,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL,
    PRIMARY KEY (owner, name)
  ) WITHOUT ROWID;

  CREATE TABLE revisions (
    revision_id  TEXT PRIMARY KEY,
    owner        TEXT NOT NULL,
    app          TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    message      TEXT,
    annotations  TEXT,              -- JSON object or NULL
    status       TEXT NOT NULL,     -- deployed | failed | deploying
    deployed_by  TEXT,
    manifest     TEXT NOT NULL,     -- JSON AppManifest
    dir          TEXT NOT NULL
  );
  CREATE INDEX revisions_app ON revisions(owner, app, created_at DESC);

  -- One row per request (sync and queued). raw_input is kept until the result expires so a queued
  -- request can be run or retried after a restart.
  CREATE TABLE requests (
    request_id      TEXT PRIMARY KEY,
    owner           TEXT NOT NULL,
    app             TEXT NOT NULL,
    endpoint_id     TEXT NOT NULL,  -- route-level: owner/app or owner/app/route
    caller_key_id   TEXT,
    method          TEXT NOT NULL,
    mode            TEXT NOT NULL,  -- sync | queue
    status          TEXT NOT NULL,  -- IN_QUEUE | IN_PROGRESS | COMPLETED
    cancelled       INTEGER NOT NULL DEFAULT 0,
    priority        TEXT NOT NULL DEFAULT 'normal',
    sent_at         INTEGER NOT NULL,
    started_at      INTEGER,
    ended_at        INTEGER,
    status_code     INTEGER,
    prepare_ms      INTEGER,        -- sent_at -> started_at (queue + cold start)
    duration_ms     INTEGER,        -- started_at -> ended_at (execution)
    runner_id       TEXT,
    cold_start      INTEGER NOT NULL DEFAULT 0,
    cold_boot_ms    INTEGER,
    billable_units  REAL,
    error_class     TEXT,           -- startup | connection | timeout | runtime
    attempts        INTEGER NOT NULL DEFAULT 0,
    store_io        INTEGER NOT NULL DEFAULT 1,
    json_input      TEXT,           -- JSON, capped; NULL when store_io = 0
    json_output     TEXT,
    timeout_s       REAL,
    webhook_url     TEXT,
    raw_input       BLOB,
    result_status   INTEGER,
    result_type     TEXT,
    result_body     BLOB,
    result_expires  INTEGER
  );
  CREATE INDEX requests_endpoint_ended ON requests(endpoint_id, ended_at DESC, request_id);
  CREATE INDEX requests_endpoint_sent ON requests(endpoint_id, sent_at);
  CREATE INDEX requests_unfinished ON requests(status) WHERE status <> 'COMPLETED';
  CREATE INDEX requests_result_expires ON requests(result_expires) WHERE result_expires IS NOT NULL;

  -- Log lines. id is monotonic: the tiebreak of history cursors and the SSE event id.
  CREATE TABLE logs (
    id          INTEGER PRIMARY KEY,
    ts          INTEGER NOT NULL,
    owner       TEXT NOT NULL,
    app         TEXT NOT NULL,
    revision    TEXT NOT NULL,
    level       TEXT NOT NULL,      -- debug | info | warn | error (lower case), stdout/stderr map to info/error
    message     TEXT NOT NULL,
    request_id  TEXT,               -- label fal_request_id
    job_id      TEXT,               -- label fal_job_id (runner id)
    endpoint    TEXT,               -- label fal_endpoint
    source      TEXT,               -- label source: stdout | stderr | gateway | supervisor
    labels      TEXT NOT NULL       -- JSON object of all labels (including the four above)
  );
  CREATE INDEX logs_owner_ts ON logs(owner, ts DESC, id DESC);
  CREATE INDEX logs_request ON logs(request_id, ts) WHERE request_id IS NOT NULL;
  CREATE INDEX logs_job ON logs(job_id, ts) WHERE job_id IS NOT NULL;

  CREATE TABLE events (
    event_id    TEXT PRIMARY KEY,
    owner       TEXT NOT NULL,
    app         TEXT NOT NULL,
    category    TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    payload     TEXT NOT NULL       -- JSON
  );
  CREATE INDEX events_app ON events(owner, app, created_at DESC);

  -- Runner state counts sampled every few seconds per app.
  CREATE TABLE runner_samples (
    ts        INTEGER NOT NULL,
    owner     TEXT NOT NULL,
    app       TEXT NOT NULL,
    pending   INTEGER NOT NULL,
    setup     INTEGER NOT NULL,
    idle      INTEGER NOT NULL,
    running   INTEGER NOT NULL,
    draining  INTEGER NOT NULL
  );
  CREATE INDEX runner_samples_app ON runner_samples(owner, app, ts);

  -- Machine time per runner per wall-clock minute; rewriting a (runner, minute) replaces it.
  CREATE TABLE meter (
    runner_id     TEXT NOT NULL,
    minute        INTEGER NOT NULL,  -- epoch ms of the minute start (UTC)
    owner         TEXT NOT NULL,
    app           TEXT NOT NULL,
    environment   TEXT NOT NULL,
    machine_type  TEXT NOT NULL,
    is_surge      INTEGER NOT NULL,
    seconds       REAL NOT NULL,
    PRIMARY KEY (runner_id, minute)
  ) WITHOUT ROWID;
  CREATE INDEX meter_owner_minute ON meter(owner, minute);

  -- Runners believed alive, so a restarted server closes their metering. Column pid holds the runner
  -- driver's ref since the driver port spoke of refs: a pid for local runners, a Pod name on Kubernetes.
  CREATE TABLE runners (
    runner_id      TEXT PRIMARY KEY,
    owner          TEXT NOT NULL,
    app            TEXT NOT NULL,
    revision_id    TEXT NOT NULL,
    machine_type   TEXT NOT NULL,
    pid            INTEGER,
    state          TEXT NOT NULL,
    started_at     INTEGER NOT NULL,
    ended_at       INTEGER,
    metered_until  INTEGER NOT NULL
  );
  CREATE INDEX runners_live ON runners(ended_at) WHERE ended_at IS NULL;
  `,
  // 2: trigram full-text index over log messages for the logs `search` filter (queried with LIKE '%x%').
  // External content (no second copy of the text) and detail=none keep it small; triggers keep it in sync.
  `
  CREATE VIRTUAL TABLE logs_fts USING fts5(
    message, content = 'logs', content_rowid = 'id', tokenize = 'trigram', detail = 'none'
  );
  INSERT INTO logs_fts(logs_fts) VALUES ('rebuild');
  CREATE TRIGGER logs_fts_insert AFTER INSERT ON logs BEGIN
    INSERT INTO logs_fts(rowid, message) VALUES (new.id, new.message);
  END;
  CREATE TRIGGER logs_fts_delete AFTER DELETE ON logs BEGIN
    INSERT INTO logs_fts(logs_fts, rowid, message) VALUES ('delete', old.id, old.message);
  END;
  CREATE TRIGGER logs_fts_update AFTER UPDATE OF message ON logs BEGIN
    INSERT INTO logs_fts(logs_fts, rowid, message) VALUES ('delete', old.id, old.message);
    INSERT INTO logs_fts(rowid, message) VALUES (new.id, new.message);
  END;
  `,
  // 3: analytics and usage rollups, and indexes for the requests listing. request_rollups holds
  // per-endpoint counts and latency sketches per UTC minute, quarter hour and hour (span 60000, 900000,
  // 3600000), written by telemetry/request-rollup.ts (merging, never overwriting). meter_rollups sums machine
  // time per quarter hour and hour; triggers keep it equal to the meter table.
  `
  CREATE TABLE request_rollups (
    endpoint_id             TEXT NOT NULL,
    span                    INTEGER NOT NULL,
    start                   INTEGER NOT NULL,  -- epoch ms, a multiple of span
    request_count           INTEGER NOT NULL,
    success_count           INTEGER NOT NULL,
    user_error_count        INTEGER NOT NULL,
    error_count             INTEGER NOT NULL,
    startup_error_count     INTEGER NOT NULL,
    connection_error_count  INTEGER NOT NULL,
    timeout_error_count     INTEGER NOT NULL,
    runtime_error_count     INTEGER NOT NULL,
    cold_boot_count         INTEGER NOT NULL,
    duration_sum_ms         REAL NOT NULL,
    prepare_sketch          BLOB,              -- core QuantileSketch encodings, ms
    duration_sketch         BLOB,
    cold_boot_sketch        BLOB,
    PRIMARY KEY (endpoint_id, span, start)
  ) WITHOUT ROWID;

  CREATE TABLE meter_rollups (
    owner         TEXT NOT NULL,
    span          INTEGER NOT NULL,            -- 900000 | 3600000
    start         INTEGER NOT NULL,
    app           TEXT NOT NULL,
    environment   TEXT NOT NULL,
    machine_type  TEXT NOT NULL,
    is_surge      INTEGER NOT NULL,
    seconds       REAL NOT NULL,
    PRIMARY KEY (owner, span, start, app, environment, machine_type, is_surge)
  ) WITHOUT ROWID;
  INSERT INTO meter_rollups
    SELECT owner, s.span, minute - minute % s.span, app, environment, machine_type, is_surge, SUM(seconds)
    FROM meter, (SELECT 900000 AS span UNION ALL SELECT 3600000) AS s GROUP BY 1, 2, 3, 4, 5, 6, 7;
  CREATE TRIGGER meter_rollups_insert AFTER INSERT ON meter BEGIN
    INSERT INTO meter_rollups
      SELECT new.owner, s.span, new.minute - new.minute % s.span, new.app, new.environment, new.machine_type,
        new.is_surge, new.seconds
      FROM (SELECT 900000 AS span UNION ALL SELECT 3600000) AS s WHERE true
    ON CONFLICT DO UPDATE SET seconds = seconds + excluded.seconds;
  END;
  CREATE TRIGGER meter_rollups_update AFTER UPDATE ON meter BEGIN
    UPDATE meter_rollups SET seconds = seconds - old.seconds
      WHERE owner = old.owner AND span IN (900000, 3600000) AND start = old.minute - old.minute % span
        AND app = old.app AND environment = old.environment AND machine_type = old.machine_type
        AND is_surge = old.is_surge;
    INSERT INTO meter_rollups
      SELECT new.owner, s.span, new.minute - new.minute % s.span, new.app, new.environment, new.machine_type,
        new.is_surge, new.seconds
      FROM (SELECT 900000 AS span UNION ALL SELECT 3600000) AS s WHERE true
    ON CONFLICT DO UPDATE SET seconds = seconds + excluded.seconds;
  END;
  CREATE TRIGGER meter_rollups_delete AFTER DELETE ON meter BEGIN
    UPDATE meter_rollups SET seconds = seconds - old.seconds
      WHERE owner = old.owner AND span IN (900000, 3600000) AND start = old.minute - old.minute % span
        AND app = old.app AND environment = old.environment AND machine_type = old.machine_type
        AND is_surge = old.is_surge;
  END;

  -- The requests listing filtered by status class (2xx/4xx/5xx) and sorted by duration.
  CREATE INDEX requests_endpoint_class_ended ON requests(endpoint_id, status_code / 100, ended_at DESC, request_id);
  CREATE INDEX requests_endpoint_duration
    ON requests(endpoint_id, COALESCE(duration_ms, -1) DESC, request_id, ended_at) WHERE ended_at IS NOT NULL;
  `,
  // 4: the log store fills logs_fts with one INSERT ... SELECT per writer batch: the per-row insert
  // trigger opened a savepoint per line, at which FTS5 flushed its pending terms (slow commits).
  `
  DROP TRIGGER IF EXISTS logs_fts_insert;
  `,
  // 5: deploy by upload. A revision records the bundle it runs (NULL for revisions deployed from a
  // server path before bundles); bundles records which owner uploaded which digest (the archives and
  // unpacked trees themselves live under HANGAR_HOME/bundles, shared by digest).
  `
  ALTER TABLE revisions ADD COLUMN bundle TEXT;
  CREATE TABLE bundles (
    owner       TEXT NOT NULL,
    digest      TEXT NOT NULL,     -- sha256:<hex> of the gzip'd tar
    bytes       INTEGER NOT NULL,  -- compressed size
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (owner, digest)
  ) WITHOUT ROWID;
  `,
  // 6: app operations. Scaling overrides (`hangar apps scale`) and a rollout in progress, per app.
  `
  CREATE TABLE app_settings (
    owner    TEXT NOT NULL,
    name     TEXT NOT NULL,
    scaling  TEXT NOT NULL DEFAULT '{}',  -- JSON ScalingOverrides
    rollout  TEXT,                        -- JSON RolloutState or NULL
    PRIMARY KEY (owner, name)
  ) WITHOUT ROWID;
  `,
  // 7: the response headers the platform returns with a stored result (fal's `X-Fal-Error-Type`,
  // `X-Fal-Served-From`, …), as a JSON object; NULL when there are none.
  `
  ALTER TABLE requests ADD COLUMN result_headers TEXT;
  `,
  // 8: payloads above limits.payload_store_bytes live in the object storage under
  // payloads/<owner>/<request_id>/input|output; the row keeps which (core PayloadPart bits: 1 raw_input and
  // 2 json_input in \`input\`, 4 result_body and 8 json_output in \`output\`) and NULL in those columns.
  `
  ALTER TABLE requests ADD COLUMN payload_objects INTEGER NOT NULL DEFAULT 0;
  `,
  // 9: where each runner spent its time (fal's runner states): when it entered its current state, and a
  // JSON core RunnerStateTimes (seconds per state left, lifecycle timeline). NULL for older rows.
  `
  ALTER TABLE runners ADD COLUMN state_since INTEGER;
  ALTER TABLE runners ADD COLUMN state_times TEXT;
  `,
  // 10: owners' secrets, sealed with AES-256-GCM by the server (secrets/cipher.ts): the value never
  // reaches this file in clear. key_id names the key that sealed it, so a rotation finds what to redo.
  `
  CREATE TABLE secrets (
    owner       TEXT NOT NULL,
    name        TEXT NOT NULL,
    sealed      BLOB NOT NULL,     -- version, IV, GCM tag, ciphertext
    key_id      TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (owner, name)
  ) WITHOUT ROWID;
  `,
  // 11: a runner's sampled GPU usage (runner history): a JSON array of core RunnerGpuSummary, one per
  // card (last sample, peak memory, mean utilisation). NULL for runners without GPUs and older rows.
  `
  ALTER TABLE runners ADD COLUMN gpu_usage TEXT;
  `,
  // 12 (webhook outbox): one row per webhook delivery (core WebhookOutbox), keyed by the request id, the
  // delivery's idempotent id. Recorded 'waiting' before the request is accepted, 'pending' with its body
  // once the request completes, claimed by pushing due_at a lease ahead (attempts is the claim's fencing
  // number), then 'delivered' or 'failed' (final, finished_at set, body dropped) until purged.
  `
  CREATE TABLE webhook_outbox (
    id           TEXT PRIMARY KEY,
    owner        TEXT NOT NULL,
    app          TEXT NOT NULL,
    user_id      TEXT NOT NULL,
    url          TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    state        TEXT NOT NULL,     -- waiting | pending | delivered | failed
    attempts     INTEGER NOT NULL DEFAULT 0,
    due_at       INTEGER,
    body         BLOB,
    last_status  INTEGER,
    last_error   TEXT,
    finished_at  INTEGER
  );
  CREATE INDEX webhook_outbox_due ON webhook_outbox(due_at, id) WHERE state = 'pending';
  CREATE INDEX webhook_outbox_waiting ON webhook_outbox(id) WHERE state = 'waiting';
  CREATE INDEX webhook_outbox_finished ON webhook_outbox(finished_at) WHERE finished_at IS NOT NULL;
  `,
];
