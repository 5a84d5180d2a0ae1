import { describe, expect, it } from 'vitest';
import { browsableUrl, type ServeBannerInfo, serveBanner, shellWord } from './banner.js';

const plain = { bold: (s: string) => s, dim: (s: string) => s };
const INFO: ServeBannerInfo = {
  url: 'http://127.0.0.1:8080',
  owner: 'demo',
  adminKey: 'kid:secret',
  adminKeyPath: '/srv/app/.hangar/admin.key',
  deployed: ['demo/png', 'demo/echo'],
  cwd: '/srv/app',
};

describe('serveBanner', () => {
  it('shows a new key once, the dashboard and a curl line that carries it', () => {
    expect(serveBanner(INFO, plain)).toEqual([
      'Hangar listening on http://127.0.0.1:8080',
      'admin key (owner demo, shown once, saved in /srv/app/.hangar/admin.key):',
      '  kid:secret',
      'deployed demo/png',
      'deployed demo/echo',
      '',
      'Dashboard  http://127.0.0.1:8080/  (sign in with the admin key)',
      `Try        curl -s -X POST http://127.0.0.1:8080/run/demo/echo -H "Authorization: Key kid:secret" -H 'content-type: application/json' -d '{"hello":"world"}'`,
      '           npx hangar --help',
      '',
    ]);
  });

  it('reads a kept key from its file, and lists apps when none was deployed', () => {
    const lines = serveBanner({ ...INFO, adminKey: null, deployed: [], url: 'http://0.0.0.0:9000' }, plain);
    expect(lines[1]).toBe('admin key: /srv/app/.hangar/admin.key');
    expect(lines).toContain('Dashboard  http://127.0.0.1:9000/  (sign in with the admin key)');
    expect(lines).toContain(
      'Try        curl -s http://127.0.0.1:9000/v1/serverless/apps -H "Authorization: Key $(cat .hangar/admin.key)"',
    );
    const elsewhere = serveBanner({ ...INFO, adminKey: null, adminKeyPath: "/it's here/admin.key" }, plain);
    expect(elsewhere.find((l) => l.startsWith('Try'))).toContain(`$(cat '/it'\\''s here/admin.key')`);
  });
});

describe('helpers', () => {
  it('quotes only what the shell would split', () => {
    expect(shellWord('.hangar/admin.key')).toBe('.hangar/admin.key');
    expect(shellWord('a b')).toBe(`'a b'`);
  });

  it('reaches a wildcard bind address through loopback', () => {
    expect(browsableUrl('http://0.0.0.0:8080')).toBe('http://127.0.0.1:8080');
    expect(browsableUrl('http://[::]:8080')).toBe('http://[::1]:8080');
    expect(browsableUrl('http://10.0.0.5:8080')).toBe('http://10.0.0.5:8080');
  });
});
