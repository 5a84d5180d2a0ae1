/**
 * The webhook outbox, as SQLite's migration 12 (webhook outbox): one row per delivery, keyed by the request
 * id (the delivery's idempotent id). 'waiting' before the request completes, 'pending' with its body, then
 * 'delivered' or 'failed'. A claim pushes due_at a lease ahead and bumps attempts, the claim's fencing number.
 */
export const sql = `
CREATE TABLE webhook_outbox (
  id           TEXT PRIMARY KEY,
  owner        TEXT NOT NULL,
  app          TEXT NOT NULL,
  user_id      TEXT NOT NULL,
  url          TEXT NOT NULL,
  created_at   BIGINT NOT NULL,
  state        TEXT NOT NULL,
  attempts     INTEGER NOT NULL DEFAULT 0,
  due_at       BIGINT,
  body         BYTEA,
  last_status  INTEGER,
  last_error   TEXT,
  finished_at  BIGINT
);
CREATE INDEX webhook_outbox_due ON webhook_outbox (due_at, id) WHERE state = 'pending';
CREATE INDEX webhook_outbox_waiting ON webhook_outbox (id) WHERE state = 'waiting';
CREATE INDEX webhook_outbox_finished ON webhook_outbox (finished_at) WHERE finished_at IS NOT NULL;
`;
