/**
 * Log search: the pg_trgm extension and a GIN trigram index over log messages, which answers the search
 * filter's `message ILIKE '%needle%'` (exact matching is re-checked by the query). Where the extension
 * cannot be created (not installed, or no right to create it), the migration still succeeds without the
 * index and searches check every line of their window instead (reads/log-search-mode.ts says so once).
 */
export const sql = `
DO $$
BEGIN
  CREATE EXTENSION IF NOT EXISTS pg_trgm;
EXCEPTION WHEN OTHERS THEN
  RAISE NOTICE 'pg_trgm is not available (%): log search scans lines without a trigram index', SQLERRM;
END;
$$;
DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm') THEN
    EXECUTE 'CREATE INDEX logs_message_trgm ON logs USING gin (message gin_trgm_ops)';
  END IF;
END;
$$;
`;
