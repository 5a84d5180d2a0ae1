import type { SerializedPage } from '@hangar/core';
import type Database from 'better-sqlite3';

/**
 * Wraps a bucketed query so the query thread returns its result serialised. Big answers (30 days of
 * hourly analytics is ≈ 0.5 MB) then cross threads as one string and reach the socket without the
 * gateway's thread cloning and walking them (≈ 5 ms of blocking per call otherwise).
 */
export function serialized<P>(
  query: (db: Database.Database, params: P) => { nextBucket: number | null },
): (db: Database.Database, params: P) => SerializedPage {
  return (db, params) => {
    const { nextBucket, ...data } = query(db, params);
    return { json: JSON.stringify(data), nextBucket };
  };
}
