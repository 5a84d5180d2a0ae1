import { type Bucket, listBuckets, type TimeWindow } from '@hangar/core';

/**
 * The page-building rules of a read, written once for every engine: the generator yields what it needs
 * read and receives the rows, so the synchronous SQLite reads (on a query thread) and the asynchronous
 * PostgreSQL reads run the same steps and keep only their SQL.
 */
export type ReadSteps<Ask, Got, Result> = Generator<Ask, Result, Got>;

/** Runs read steps with a synchronous reader. */
export function runSteps<A, G, R>(steps: ReadSteps<A, G, R>, read: (ask: A) => G): R {
  let step = steps.next();
  while (!step.done) step = steps.next(read(step.value));
  return step.value;
}

/** Runs read steps with an asynchronous reader, one ask at a time. */
export async function runStepsAsync<A, G, R>(
  steps: ReadSteps<A, G, R>,
  read: (ask: A) => Promise<G>,
): Promise<R> {
  let step = steps.next();
  while (!step.done) step = steps.next(await read(step.value));
  return step.value;
}

/** What a bucketed page is cut from: the window, the page size and where the page starts. */
interface BucketedParams {
  window: TimeWindow;
  limit: number;
  fromMs: number | null;
}

/** The buckets of one page and the start of the next page's first bucket (null on the last page). */
export function bucketPage(p: BucketedParams): { buckets: Bucket[]; nextBucket: number | null } {
  const page = listBuckets(p.window, p.limit + 1, p.fromMs ?? p.window.startMs);
  return { buckets: page.slice(0, p.limit), nextBucket: page.length > p.limit ? page[p.limit]!.start : null };
}

/** The whole window as one bucket, for a summary. */
export function wholeWindow(p: BucketedParams): Bucket[] {
  return [{ start: p.window.startMs, end: p.window.endMs, label: '' }];
}
