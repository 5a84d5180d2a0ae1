import { describe, expect, it } from 'vitest';
import { hasDefaultRoute } from './probe.js';

const HEADER = 'Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT';
const table = (...rows: string[]) => [HEADER, ...rows].join('\n');
const DEFAULT = 'eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0';
const SUBNET = 'eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0';

describe('sandbox probe: default route (pasta needs one)', () => {
  it('finds a default route among the routes', () => {
    expect(hasDefaultRoute(table(DEFAULT, SUBNET))).toBe(true);
    expect(hasDefaultRoute(table(SUBNET, DEFAULT))).toBe(true);
  });

  it('finds none on a host with only its subnets, only loopback, or no table', () => {
    expect(hasDefaultRoute(table(SUBNET))).toBe(false);
    expect(hasDefaultRoute(table())).toBe(false);
    expect(hasDefaultRoute('')).toBe(false);
  });

  it('ignores a default route that is down and a host route to 0.0.0.0 with a mask', () => {
    expect(hasDefaultRoute(table('eth0\t00000000\t010200C0\t0002\t0\t0\t0\t00000000\t0\t0\t0'))).toBe(false);
    expect(hasDefaultRoute(table('eth0\t00000000\t00000000\t0001\t0\t0\t0\t000000FF\t0\t0\t0'))).toBe(false);
  });
});
