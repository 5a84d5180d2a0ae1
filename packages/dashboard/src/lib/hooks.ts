import { useCallback, useEffect, useRef, useState } from 'preact/hooks';

/** The state of an asynchronous load; `data` keeps the last good answer while reloading. */
export interface AsyncState<T> {
  data: T | undefined;
  error: unknown;
  loading: boolean;
  reload: () => void;
}

/**
 * Runs `load` when `deps` change and, with `intervalMs`, again that long after each answer (not while
 * the tab is hidden). A newer run aborts the older one, so answers never arrive out of order.
 */
export function useAsync<T>(
  load: (signal: AbortSignal) => Promise<T>,
  deps: readonly unknown[],
  intervalMs?: number,
): AsyncState<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<unknown>(null);
  const [loading, setLoading] = useState(true);
  const [tick, setTick] = useState(0);
  const loadRef = useRef(load);
  loadRef.current = load;

  useEffect(() => {
    const ctrl = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const run = async () => {
      setLoading(true);
      try {
        const value = await loadRef.current(ctrl.signal);
        if (ctrl.signal.aborted) return;
        setData(value);
        setError(null);
      } catch (err) {
        if (ctrl.signal.aborted) return;
        setError(err);
      }
      setLoading(false);
      if (intervalMs) timer = setTimeout(schedule, intervalMs);
    };
    const schedule = () => {
      if (document.hidden) timer = setTimeout(schedule, intervalMs);
      else void run();
    };
    void run();
    return () => {
      ctrl.abort();
      clearTimeout(timer);
    };
  }, [...deps, tick, intervalMs]);

  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { data, error, loading, reload };
}

/** A value that follows `value` after it stopped changing for `ms`. */
export function useDebounced<T>(value: T, ms: number): T {
  const [v, setV] = useState(value);
  useEffect(() => {
    const t = setTimeout(() => setV(value), ms);
    return () => clearTimeout(t);
  }, [value, ms]);
  return v;
}
