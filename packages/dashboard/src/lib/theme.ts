import { useEffect, useState } from 'preact/hooks';

/** The theme choice: follow the system, or force light or dark. */
export type ThemeChoice = 'auto' | 'light' | 'dark';

const STORAGE_KEY = 'hangar.theme';
const listeners = new Set<() => void>();
const media = typeof window !== 'undefined' ? window.matchMedia('(prefers-color-scheme: dark)') : null;

/** The saved choice (a display preference, so it may outlive the session). */
export function themeChoice(): ThemeChoice {
  const v = localStorage.getItem(STORAGE_KEY);
  return v === 'light' || v === 'dark' ? v : 'auto';
}

/** The theme in effect. */
export function effectiveTheme(): 'light' | 'dark' {
  const c = themeChoice();
  if (c !== 'auto') return c;
  return media?.matches ? 'dark' : 'light';
}

/** Applies the effective theme to the document. */
export function applyTheme(): void {
  document.documentElement.dataset['theme'] = effectiveTheme();
  for (const fn of listeners) fn();
}

/** Saves a choice and applies it. */
export function setThemeChoice(c: ThemeChoice): void {
  if (c === 'auto') localStorage.removeItem(STORAGE_KEY);
  else localStorage.setItem(STORAGE_KEY, c);
  applyTheme();
}

media?.addEventListener('change', applyTheme);

/** The effective theme, re-rendering the caller when it changes. */
export function useTheme(): 'light' | 'dark' {
  const [t, setT] = useState(effectiveTheme);
  useEffect(() => {
    const fn = () => setT(effectiveTheme());
    listeners.add(fn);
    return () => {
      listeners.delete(fn);
    };
  }, []);
  return t;
}
