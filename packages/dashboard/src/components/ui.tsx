import { HangarApiError } from '@hangar/client';
import type { ComponentChildren } from 'preact';
import { useContext } from 'preact/hooks';
import { SessionContext } from '../lib/session';

/** The server's message for an error, with its type when the server gave one. */
export function describeError(err: unknown): { title: string; message: string; status: number | null } {
  if (err instanceof HangarApiError) {
    const title =
      err.status === 0
        ? 'Cannot reach the server'
        : err.status === 401
          ? 'Not signed in'
          : err.status === 403
            ? 'Not allowed'
            : `Error ${err.status}${err.type ? ` · ${err.type}` : ''}`;
    return { title, message: err.message, status: err.status };
  }
  return { title: 'Error', message: err instanceof Error ? err.message : String(err), status: null };
}

/** A visible error state with the server's message (and a way back to sign-in on 401). */
export function ErrorBox({ error, onRetry }: { error: unknown; onRetry?: () => void }) {
  const session = useContext(SessionContext);
  const { title, message, status } = describeError(error);
  return (
    <div class="error-box" role="alert">
      <strong>{title}</strong>
      <span class="error-message">{message}</span>
      <span class="error-actions">
        {onRetry && (
          <button type="button" class="btn small" onClick={onRetry}>
            Retry
          </button>
        )}
        {status === 401 && session && (
          <button type="button" class="btn small" onClick={session.signOut}>
            Sign in again
          </button>
        )}
      </span>
    </div>
  );
}

/** A page title with optional controls on the right. */
export function PageHeader({
  title,
  sub,
  children,
}: {
  title: string;
  sub?: string;
  children?: ComponentChildren;
}) {
  return (
    <header class="page-header">
      <div>
        <h1>{title}</h1>
        {sub && <p class="muted">{sub}</p>}
      </div>
      {children && <div class="toolbar">{children}</div>}
    </header>
  );
}

/** A labelled form control. */
export function Field({
  label,
  children,
  grow,
}: {
  label: string;
  children: ComponentChildren;
  grow?: boolean;
}) {
  return (
    // biome-ignore lint/a11y/noLabelWithoutControl: the control comes in as children, inside the label
    <label class={grow ? 'field grow' : 'field'}>
      <span>{label}</span>
      {children}
    </label>
  );
}

/** A select over fixed options. */
export function Select<T extends string>(props: {
  value: T;
  options: readonly (T | { value: T; label: string })[];
  onChange: (v: T) => void;
  name?: string;
}) {
  return (
    <select
      name={props.name}
      value={props.value}
      onChange={(e) => props.onChange(e.currentTarget.value as T)}
    >
      {props.options.map((o) => {
        const { value, label } = typeof o === 'string' ? { value: o, label: o } : o;
        return (
          <option key={value} value={value}>
            {label}
          </option>
        );
      })}
    </select>
  );
}

/** A small figure with a label. */
export function Stat({ label, value, tone }: { label: string; value: ComponentChildren; tone?: string }) {
  return (
    <div class={`stat ${tone ?? ''}`}>
      <span class="stat-value">{value}</span>
      <span class="stat-label">{label}</span>
    </div>
  );
}

/** A quiet message for an empty list. */
export function Empty({ children }: { children: ComponentChildren }) {
  return <div class="empty">{children}</div>;
}

/** A spinner for the first load of a view. */
export function Loading() {
  return (
    <div class="loading" aria-busy="true">
      <span class="spinner" /> Loading…
    </div>
  );
}

/** A coloured HTTP status code. */
export function StatusBadge({ code }: { code: number | null | undefined }) {
  if (code === null || code === undefined) return <span class="badge">pending</span>;
  const tone = code < 400 ? 'ok' : code < 500 ? 'warn' : 'bad';
  return <span class={`badge ${tone}`}>{code}</span>;
}

/** JSON shown pretty-printed, or a note when absent or nested too deeply to print. */
export function JsonView({ value }: { value: unknown }) {
  if (value === undefined) return <span class="muted">not recorded</span>;
  let text: string;
  try {
    text = JSON.stringify(value, null, 2);
  } catch {
    // JSON.stringify recurses: an app's output nested thousands deep overflows the stack.
    return <span class="muted">nested too deeply to show</span>;
  }
  return <pre class="json">{text}</pre>;
}
