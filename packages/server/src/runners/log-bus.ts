import type { LogBus, LogLine } from '@hangar/core';

/** An in-process log bus: every published batch goes synchronously to every current subscriber. */
export function createLogBus(): LogBus {
  const listeners = new Set<(lines: readonly LogLine[]) => void>();
  return {
    publish(lines) {
      if (lines.length === 0) return;
      for (const listener of listeners) {
        try {
          listener(lines);
        } catch {
          // A broken subscriber (e.g. a closed stream) must not stop delivery to the others.
        }
      }
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
      };
    },
  };
}
