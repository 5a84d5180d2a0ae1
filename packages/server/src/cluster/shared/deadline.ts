/** Rejects when `work` has not settled within `ms`, so a frozen or unreachable Redis never hangs a caller. */
export function withDeadline<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Redis did not answer ${what} within ${ms} ms`)), ms);
  });
  return Promise.race([work, late]).finally(() => clearTimeout(timer));
}

/** Reports an engine failure at most once per `everyMs`, so an outage does not flood the log. */
export function throttledReport(
  report: (err: unknown, what: string) => void,
  everyMs = 10_000,
): (err: unknown, what: string) => void {
  let last = Number.NEGATIVE_INFINITY;
  return (err, what) => {
    const now = Date.now();
    if (now - last < everyMs) return;
    last = now;
    report(err, what);
  };
}
