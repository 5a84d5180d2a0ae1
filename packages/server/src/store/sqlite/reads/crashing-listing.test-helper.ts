import type { ListRequestsParams } from '@hangar/core';
import type Database from 'better-sqlite3';
import { listRequestsJson } from './requests.js';
import type { QueryRegistry } from './statements.js';

// Loaded after the real registry in a test: a listing asked for exactly 13 items kills its worker thread.

export const queries = {
  listRequestsJson: (db: Database.Database, params: ListRequestsParams) =>
    params.limit === 13 ? process.exit(3) : listRequestsJson(db, params),
} satisfies QueryRegistry;
