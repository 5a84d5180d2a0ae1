/**
 * A clock for app events that never repeats a millisecond: events are listed newest first by time, and two
 * events of one operation (deployment_started, deployment_ended) written in the same millisecond would
 * otherwise be ordered by their random ids.
 */
export function eventClock(clock: () => number): () => number {
  let last = Number.NEGATIVE_INFINITY;
  return () => {
    const now = clock();
    last = now > last ? now : last + 1;
    return last;
  };
}
