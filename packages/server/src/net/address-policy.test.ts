import { describe, expect, it } from 'vitest';
import {
  createAllowlist,
  isForbiddenAddress,
  matchesUrlPrefix,
  parseUrlPrefix,
  splitUrlAllowlist,
} from './address-policy.js';
import { cidrContains, parseCidr, parseIp } from './ip.js';

describe('isForbiddenAddress', () => {
  it.each([
    '127.0.0.1',
    '127.255.255.254',
    '0.0.0.0',
    '0.1.2.3',
    '10.0.0.1',
    '10.255.255.255',
    '172.16.0.1',
    '172.31.255.255',
    '192.168.1.1',
    '169.254.169.254',
    '169.254.0.1',
    '100.64.0.1',
    '100.127.255.255',
    '192.0.0.8',
    '192.0.2.1',
    '198.18.0.1',
    '198.51.100.7',
    '203.0.113.9',
    '224.0.0.1',
    '239.255.255.250',
    '240.0.0.1',
    '255.255.255.255',
    '::',
    '::1',
    '[::1]',
    '0:0:0:0:0:0:0:1',
    'fc00::1',
    'fd12:3456:789a::1',
    'fe80::1',
    'fe80::1%eth0',
    'febf::1',
    'fec0::1',
    'ff02::1',
    '::ffff:127.0.0.1',
    '::ffff:7f00:1',
    '::ffff:8.8.8.8',
    '::ffff:169.254.169.254',
    '::127.0.0.1',
    '64:ff9b::10.0.0.1',
    '64:ff9b::a9fe:a9fe',
    '64:ff9b::127.0.0.1',
    '64:ff9b:1::1',
    '2002:0a00:0001::1',
    '2002:7f00:1::',
    '2001:db8::1',
    '2001:0::1',
    '100::1',
    'not-an-ip',
    '',
    '1.2.3',
    '256.1.1.1',
  ])('refuses %s', (ip) => {
    expect(isForbiddenAddress(ip)).toBe(true);
  });

  it.each([
    '8.8.8.8',
    '1.1.1.1',
    '93.184.216.34',
    '100.63.255.255',
    '100.128.0.0',
    '172.15.255.255',
    '172.32.0.0',
    '169.253.255.255',
    '192.169.0.1',
    '11.0.0.1',
    '2606:4700:4700::1111',
    '2a00:1450:4001:81a::200e',
    '64:ff9b::8.8.8.8',
    '2002:0808:0808::1',
  ])('allows public %s', (ip) => {
    expect(isForbiddenAddress(ip)).toBe(false);
  });
});

describe('ip parsing', () => {
  it('parses embedded IPv4 in IPv6 the same as the hex form', () => {
    expect(parseIp('::ffff:1.2.3.4')).toEqual(parseIp('::ffff:102:304'));
    expect(parseIp('64:ff9b::10.0.0.1')).toEqual(parseIp('64:ff9b::a00:1'));
    expect(parseIp('1:2:3:4:5:6:7:8')?.value).toBe(0x00010002000300040005000600070008n);
  });
  it('matches CIDR blocks of both families', () => {
    const block = parseCidr('10.0.0.0/8');
    expect(block && cidrContains(block, parseIp('10.9.8.7') as never)).toBe(true);
    expect(block && cidrContains(block, parseIp('11.0.0.0') as never)).toBe(false);
    const v6 = parseCidr('fd00::/8');
    expect(v6 && cidrContains(v6, parseIp('fd00::5') as never)).toBe(true);
    expect(parseCidr('10.0.0.0/33')).toBeNull();
    expect(parseCidr('10.0.0.0/x')).toBeNull();
    expect(parseCidr('0.0.0.0/0')).toEqual({ family: 4, network: 0n, prefix: 0 });
  });
});

describe('createAllowlist', () => {
  it('matches host names exactly and addresses by CIDR', () => {
    const allow = createAllowlist(['Files.Internal.', '10.1.0.0/16', '192.168.5.5', 'fd00::/8']);
    expect(allow.allowsHost('files.internal')).toBe(true);
    expect(allow.allowsHost('evil.files.internal')).toBe(false);
    expect(allow.allowsAddress('10.1.200.3')).toBe(true);
    expect(allow.allowsAddress('10.2.0.1')).toBe(false);
    expect(allow.allowsAddress('192.168.5.5')).toBe(true);
    expect(allow.allowsAddress('fd00::1')).toBe(true);
  });
  it('rejects malformed CIDR entries at start-up', () => {
    expect(() => createAllowlist(['10.0.0.0/40'])).toThrow(/allowlist/);
  });
});

describe('URL prefixes', () => {
  const prefix = (raw: string) => parseUrlPrefix(raw);
  const matches = (url: string, raw: string) => matchesUrlPrefix(new URL(url), prefix(raw));

  it('matches on the parsed origin and on path boundaries, never on raw text', () => {
    expect(matches('https://good.example.com/x', 'https://good.example.com')).toBe(true);
    expect(matches('https://GOOD.example.com:443/x', 'https://good.example.com/')).toBe(true);
    expect(matches('https://good.example.com.evil.net/x', 'https://good.example.com')).toBe(false);
    expect(matches('https://good.example.com@evil.net/x', 'https://good.example.com')).toBe(false);
    expect(matches('http://good.example.com/x', 'https://good.example.com')).toBe(false);
    expect(matches('https://good.example.com:8443/x', 'https://good.example.com')).toBe(false);
    expect(matches('https://cdn.example.com/models/a.bin', 'https://cdn.example.com/models')).toBe(true);
    expect(matches('https://cdn.example.com/models', 'https://cdn.example.com/models')).toBe(true);
    expect(matches('https://cdn.example.com/models-private/a', 'https://cdn.example.com/models')).toBe(false);
    expect(matches('https://cdn.example.com/models/../secret', 'https://cdn.example.com/models/')).toBe(
      false,
    );
    expect(matches('https://cdn.example.com/models/%2e%2e/secret', 'https://cdn.example.com/models/')).toBe(
      false,
    );
  });

  it('refuses prefixes that are not plain http(s) URLs', () => {
    for (const bad of [
      'ftp://x.example/',
      'https://u:p@x.example/',
      'https://x.example/?a=1',
      'https://x.example/#f',
      'nope://',
    ]) {
      expect(() => parseUrlPrefix(bad), bad).toThrow();
    }
  });

  it('splits an allowlist into prefixes and address exceptions, refusing bad entries', () => {
    expect(splitUrlAllowlist(['https://a.example/x/', 'files.internal', '10.0.0.0/8'])).toEqual({
      prefixes: ['https://a.example/x/'],
      allowlist: ['files.internal', '10.0.0.0/8'],
    });
    expect(() => splitUrlAllowlist(['10.0.0.0/99'])).toThrow(/Invalid allowlist entry/);
  });
});
