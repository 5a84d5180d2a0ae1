import { describe, expect, it } from 'vitest';
import { createNetGuard, NetGuardError } from './net-guard.js';

const dns: Record<string, string[]> = {
  'public.example': ['93.184.216.34'],
  'private.example': ['10.1.2.3'],
  'mixed.example': ['93.184.216.34', '127.0.0.1'],
  'v6.example': ['2606:4700::1111'],
  'internal.example': ['192.168.1.5'],
};
const resolver = async (host: string) =>
  (dns[host] ?? []).map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));

const strict = createNetGuard({ allowPrivate: false, allowlist: [] }, resolver);

describe('net guard', () => {
  it.each([
    'http://127.0.0.1/x',
    'http://10.0.0.1/',
    'http://172.16.5.4/',
    'http://192.168.0.1/',
    'http://169.254.169.254/latest/meta-data',
    'http://100.64.1.1/',
    'http://0.0.0.0/',
    'http://[::1]/',
    'http://[fc00::1]/',
    'http://[fd12:3456::1]/',
    'http://[fe80::1]/',
    'http://[::ffff:127.0.0.1]/',
    'http://[::ffff:a00:1]/',
  ])('refuses the non-public literal %s', async (url) => {
    await expect(strict.resolve(url)).rejects.toBeInstanceOf(NetGuardError);
    expect(() => strict.precheck(url)).toThrow(NetGuardError);
  });

  it('refuses names resolving to private addresses, even when only one of them is', async () => {
    await expect(strict.resolve('https://private.example/hook')).rejects.toThrow(/10\.1\.2\.3/);
    await expect(strict.resolve('https://mixed.example/hook')).rejects.toThrow(/127\.0\.0\.1/);
    await expect(strict.resolve('https://nowhere.example/hook')).rejects.toThrow(/does not resolve/);
    expect(() => strict.precheck('http://localhost:8080/')).toThrow(NetGuardError);
  });

  it('returns the checked address for public destinations', async () => {
    const t = await strict.resolve('https://public.example/hook?a=1');
    expect(t).toMatchObject({ hostname: 'public.example', address: '93.184.216.34', family: 4 });
    const v6 = await strict.resolve('https://v6.example/');
    expect(v6).toMatchObject({ address: '2606:4700::1111', family: 6 });
    expect(() => strict.precheck('https://public.example/')).not.toThrow();
  });

  it('lets the operator allow hosts, CIDRs, or everything', async () => {
    const listed = createNetGuard(
      { allowPrivate: false, allowlist: ['internal.example', '10.0.0.0/8'] },
      resolver,
    );
    await expect(listed.resolve('http://internal.example/')).resolves.toMatchObject({
      address: '192.168.1.5',
    });
    await expect(listed.resolve('http://private.example/')).resolves.toMatchObject({ address: '10.1.2.3' });
    await expect(listed.resolve('http://127.0.0.1/')).rejects.toBeInstanceOf(NetGuardError);
    const open = createNetGuard({ allowPrivate: true, allowlist: [] }, resolver);
    await expect(open.resolve('http://127.0.0.1:9/')).resolves.toMatchObject({ address: '127.0.0.1' });
  });

  it('refuses URLs that are not http(s)', async () => {
    await expect(strict.resolve('file:///etc/passwd')).rejects.toBeInstanceOf(NetGuardError);
    await expect(strict.resolve('not a url')).rejects.toBeInstanceOf(NetGuardError);
  });
});
