/** One check of `GET /readyz`. */
export interface ReadinessCheck {
  /** Named in the 503 when it fails: `store`, `redis`, `object_storage`, `migrations`, `draining`. */
  name: string;
  /** Resolves true when the part is usable; false or a rejection fails the check. */
  check(): Promise<boolean>;
}

/** A check that gives up after `timeoutMs`, so a hung engine fails readiness instead of hanging it. */
export function withTimeout(check: ReadinessCheck, timeoutMs: number): ReadinessCheck {
  return {
    name: check.name,
    check: () =>
      new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(false), timeoutMs);
        check.check().then(
          (ok) => {
            clearTimeout(timer);
            resolve(ok);
          },
          () => {
            clearTimeout(timer);
            resolve(false);
          },
        );
      }),
  };
}

/** Runs every check at once; answers the names of those that failed, in the checks' order. */
export async function failingChecks(checks: readonly ReadinessCheck[]): Promise<string[]> {
  const results = await Promise.all(checks.map((c) => c.check().catch(() => false)));
  return checks.filter((_, i) => !results[i]).map((c) => c.name);
}
