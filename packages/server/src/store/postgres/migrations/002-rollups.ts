/**
 * Analytics and usage rollups, as SQLite's migration 3: request_rollups (per endpoint per UTC minute,
 * quarter hour and hour, merged by the rollup writer) and meter_rollups (machine time per quarter hour and
 * hour), which triggers keep equal to the meter table.
 */
export const sql = `
CREATE TABLE request_rollups (
  endpoint_id             TEXT NOT NULL,
  span                    BIGINT NOT NULL,
  start                   BIGINT NOT NULL,
  request_count           BIGINT NOT NULL,
  success_count           BIGINT NOT NULL,
  user_error_count        BIGINT NOT NULL,
  error_count             BIGINT NOT NULL,
  startup_error_count     BIGINT NOT NULL,
  connection_error_count  BIGINT NOT NULL,
  timeout_error_count     BIGINT NOT NULL,
  runtime_error_count     BIGINT NOT NULL,
  cold_boot_count         BIGINT NOT NULL,
  duration_sum_ms         DOUBLE PRECISION NOT NULL,
  prepare_sketch          BYTEA,
  duration_sketch         BYTEA,
  cold_boot_sketch        BYTEA,
  PRIMARY KEY (endpoint_id, span, start)
);

CREATE TABLE meter_rollups (
  owner         TEXT NOT NULL,
  span          BIGINT NOT NULL,
  start         BIGINT NOT NULL,
  app           TEXT NOT NULL,
  environment   TEXT NOT NULL,
  machine_type  TEXT NOT NULL,
  is_surge      INTEGER NOT NULL,
  seconds       DOUBLE PRECISION NOT NULL,
  PRIMARY KEY (owner, span, start, app, environment, machine_type, is_surge)
);

CREATE FUNCTION meter_rollups_add(r meter, sign DOUBLE PRECISION) RETURNS void LANGUAGE sql AS $$
  INSERT INTO meter_rollups AS m
    SELECT r.owner, s.span, r.minute - r.minute % s.span, r.app, r.environment, r.machine_type, r.is_surge,
      sign * r.seconds
    FROM (VALUES (900000::BIGINT), (3600000::BIGINT)) AS s(span)
  ON CONFLICT (owner, span, start, app, environment, machine_type, is_surge)
    DO UPDATE SET seconds = m.seconds + excluded.seconds;
$$;

CREATE FUNCTION meter_rollups_sync() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP IN ('UPDATE', 'DELETE') THEN PERFORM meter_rollups_add(OLD, -1); END IF;
  IF TG_OP IN ('INSERT', 'UPDATE') THEN PERFORM meter_rollups_add(NEW, 1); END IF;
  RETURN NULL;
END;
$$;
CREATE TRIGGER meter_rollups_sync AFTER INSERT OR UPDATE OR DELETE ON meter
  FOR EACH ROW EXECUTE FUNCTION meter_rollups_sync();
`;
