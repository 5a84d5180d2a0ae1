/**
 * Indexes of the Platform API reads with ids in byte order (COLLATE "C"), whatever the database's default
 * collation: the requests listing breaks ties on request_id as SQLite's BINARY collation and JS do, and
 * endpoint prefixes (`owner/app/…`) are found by range scans that need byte order. The listing indexes of
 * migration 001 are replaced by the same columns in byte order; the rollups get one for prefix scans.
 */
export const sql = `
DROP INDEX requests_endpoint_ended;
DROP INDEX requests_endpoint_class_ended;
DROP INDEX requests_endpoint_duration;
CREATE INDEX requests_endpoint_ended
  ON requests((endpoint_id COLLATE "C"), ended_at DESC, (request_id COLLATE "C"));
CREATE INDEX requests_endpoint_class_ended
  ON requests((endpoint_id COLLATE "C"), (status_code / 100), ended_at DESC, (request_id COLLATE "C"));
CREATE INDEX requests_endpoint_duration
  ON requests((endpoint_id COLLATE "C"), (COALESCE(duration_ms, -1)) DESC, (request_id COLLATE "C"), ended_at)
  WHERE ended_at IS NOT NULL;
CREATE INDEX request_rollups_endpoint_bytes ON request_rollups((endpoint_id COLLATE "C"), span, start);
`;
