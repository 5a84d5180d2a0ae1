/**
 * Runs a registered read query by name, off the gateway's thread: the composition root passes the query
 * pool's `run` (with the logs and apps query modules in its registry).
 */
export type RunQuery = (name: string, params: unknown) => Promise<unknown>;
