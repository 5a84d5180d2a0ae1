import type { ComponentChildren } from 'preact';
import { useMemo, useState } from 'preact/hooks';
import { onLinkClick, useLocation } from './lib/router';
import { clientFor, type Session, SessionContext, storedKey, storeKey } from './lib/session';
import { setThemeChoice, themeChoice, useTheme } from './lib/theme';
import { AnalyticsPage } from './pages/analytics';
import { AppDetailPage } from './pages/app-detail';
import { AppsPage } from './pages/apps';
import { FilesPage } from './pages/files';
import { LogsPage } from './pages/logs';
import { NodesPage } from './pages/nodes';
import { RequestsPage } from './pages/requests';
import { SignIn } from './pages/sign-in';
import { UsagePage } from './pages/usage';

const NAV = [
  { href: '/apps', label: 'Apps' },
  { href: '/requests', label: 'Requests' },
  { href: '/logs', label: 'Logs' },
  { href: '/usage', label: 'Usage' },
  { href: '/analytics', label: 'Analytics' },
  { href: '/files', label: 'Files' },
  { href: '/nodes', label: 'Nodes' },
];

/** The dashboard: the sign-in gate, then the shell with one page per Platform API area. */
export function App() {
  const [key, setKey] = useState(storedKey);
  const session = useMemo<Session | null>(() => {
    if (!key) return null;
    return {
      key,
      client: clientFor(key),
      signOut: () => {
        storeKey(null);
        setKey(null);
      },
    };
  }, [key]);

  if (!session) {
    return (
      <SignIn
        onSignedIn={(k) => {
          storeKey(k);
          setKey(k);
        }}
      />
    );
  }
  return (
    <SessionContext.Provider value={session}>
      <Shell onSignOut={session.signOut}>
        <Routes />
      </Shell>
    </SessionContext.Provider>
  );
}

function Routes() {
  const { path } = useLocation();
  const app = /^\/apps\/([^/]+)\/([^/]+)\/?$/.exec(path);
  if (app) return <AppDetailPage owner={decodeURIComponent(app[1]!)} name={decodeURIComponent(app[2]!)} />;
  switch (path.replace(/\/+$/, '') || '/') {
    case '/':
    case '/apps':
      return <AppsPage />;
    case '/requests':
      return <RequestsPage />;
    case '/logs':
      return <LogsPage />;
    case '/usage':
      return <UsagePage />;
    case '/analytics':
      return <AnalyticsPage />;
    case '/files':
      return <FilesPage />;
    case '/nodes':
      return <NodesPage />;
    default:
      return (
        <div class="page">
          <h1>Not found</h1>
          <p>
            Nothing at <code>{path}</code>.{' '}
            <a href="/apps" onClick={onLinkClick}>
              Back to apps
            </a>
          </p>
        </div>
      );
  }
}

function Shell({ children, onSignOut }: { children: ComponentChildren; onSignOut: () => void }) {
  const { path } = useLocation();
  const theme = useTheme();
  const active = (href: string) =>
    path === href || path.startsWith(`${href}/`) || (href === '/apps' && path === '/');
  const nextTheme = () =>
    setThemeChoice(themeChoice() === 'auto' ? (theme === 'dark' ? 'light' : 'dark') : 'auto');
  return (
    <div class="shell">
      <nav class="nav" aria-label="Main">
        <a class="brand" href="/apps" onClick={onLinkClick}>
          <img src="/favicon.svg" alt="" width="22" height="22" />
          Hangar
        </a>
        <ul>
          {NAV.map((n) => (
            <li key={n.href}>
              <a href={n.href} onClick={onLinkClick} class={active(n.href) ? 'active' : ''}>
                {n.label}
              </a>
            </li>
          ))}
        </ul>
        <div class="nav-foot">
          <button
            type="button"
            class="btn ghost small"
            onClick={nextTheme}
            title={`Theme: ${themeChoice()} (click to change)`}
          >
            {themeChoice() === 'auto' ? 'Auto' : theme === 'dark' ? 'Dark' : 'Light'} theme
          </button>
          <button type="button" class="btn ghost small" onClick={onSignOut}>
            Sign out
          </button>
        </div>
      </nav>
      <main class="main">{children}</main>
    </div>
  );
}
