/** The response header a runner lists its hints in (what fal's `provide_hints()` sends). */
export const RUNNER_HINTS_HEADER = 'x-fal-runner-hints';

/** Hints kept per runner, and the longest hint kept: a runner cannot grow the router's memory unboundedly. */
const MAX_HINTS = 64;
const MAX_HINT_LENGTH = 256;

/** Parses a comma-separated `x-fal-runner-hints` value into the set of hints it names (blank entries dropped). */
export function parseRunnerHints(value: string): ReadonlySet<string> {
  const hints = new Set<string>();
  for (const part of value.split(',')) {
    const hint = part.trim();
    if (hint === '' || hint.length > MAX_HINT_LENGTH) continue;
    hints.add(hint);
    if (hints.size === MAX_HINTS) break;
  }
  return hints;
}
