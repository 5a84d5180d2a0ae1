import { useState } from 'preact/hooks';
import { describeError } from '../components/ui';
import { clientFor } from '../lib/session';

/** The sign-in form: the key is checked against the server before it is kept for this tab. */
export function SignIn({ onSignedIn }: { onSignedIn: (key: string) => void }) {
  const [key, setKey] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);

  const submit = async (e: Event) => {
    e.preventDefault();
    const k = key.trim();
    if (!k) return;
    setBusy(true);
    setError(null);
    try {
      await clientFor(k).apps.list();
      onSignedIn(k);
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  };

  const err = error ? describeError(error) : null;
  return (
    <div class="signin">
      <form class="card signin-card" onSubmit={submit}>
        <div class="signin-brand">
          <img src="/favicon.svg" alt="" width="36" height="36" />
          <div>
            <h1>Hangar</h1>
            <p class="muted">Sign in with an API key</p>
          </div>
        </div>
        <label class="field">
          <span>Key</span>
          <input
            type="password"
            name="key"
            autocomplete="off"
            placeholder="key_id:secret"
            value={key}
            onInput={(e) => setKey(e.currentTarget.value)}
            required
          />
        </label>
        {err && (
          <div class="error-box" role="alert">
            <strong>{err.title}</strong>
            <span class="error-message">{err.message}</span>
          </div>
        )}
        <button class="btn primary" type="submit" disabled={busy || !key.trim()}>
          {busy ? 'Checking…' : 'Sign in'}
        </button>
        <p class="muted small">
          The key stays in this tab's session storage and is sent only to this server. An ADMIN key also shows
          usage and cost.
        </p>
      </form>
    </div>
  );
}
