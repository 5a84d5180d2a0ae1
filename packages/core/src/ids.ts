import { randomUUID } from 'node:crypto';

/** Source of ids; injected so tests can make them deterministic. */
export type IdSource = () => string;

/** Random UUID v4 ids, the shape fal uses for request and runner ids. */
export const uuidIds: IdSource = () => randomUUID();

/** Wall clock in epoch milliseconds; injected so tests control time. */
export type Clock = () => number;

export const systemClock: Clock = () => Date.now();
