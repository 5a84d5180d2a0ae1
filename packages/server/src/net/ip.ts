import { isIP } from 'node:net';

/** A parsed IP address: family and its value as an unsigned integer (32 or 128 bits). */
export interface IpAddress {
  family: 4 | 6;
  value: bigint;
}

/** A parsed CIDR block: the network address and its prefix length. */
export interface Cidr {
  family: 4 | 6;
  network: bigint;
  prefix: number;
}

/** Parses an IPv4 or IPv6 literal (brackets and an IPv6 zone id are tolerated); null when not an IP. */
export function parseIp(input: string): IpAddress | null {
  let text = input.trim();
  if (text.startsWith('[') && text.endsWith(']')) text = text.slice(1, -1);
  const zone = text.indexOf('%');
  if (zone !== -1) text = text.slice(0, zone);
  const family = isIP(text);
  if (family === 4) return { family: 4, value: parseV4(text) };
  if (family === 6) return { family: 6, value: parseV6(text) };
  return null;
}

function parseV4(text: string): bigint {
  return text.split('.').reduce((acc, part) => (acc << 8n) | BigInt(Number(part)), 0n);
}

function parseV6(text: string): bigint {
  let body = text.toLowerCase();
  const tail: number[] = [];
  const lastColon = body.lastIndexOf(':');
  if (body.includes('.', lastColon)) {
    const v4 = parseV4(body.slice(lastColon + 1));
    tail.push(Number(v4 >> 16n), Number(v4 & 0xffffn));
    const head = body.slice(0, lastColon + 1);
    body = head.endsWith('::') ? head : head.slice(0, -1);
  }
  const [head = '', rest] = body.split('::');
  const parts = (s: string) => (s === '' ? [] : s.split(':').map((h) => Number.parseInt(h, 16)));
  const left = parts(head);
  const right = rest === undefined ? [] : parts(rest);
  const fill = 8 - tail.length - left.length - right.length;
  const groups = [...left, ...new Array<number>(rest === undefined ? 0 : fill).fill(0), ...right, ...tail];
  return groups.reduce((acc, g) => (acc << 16n) | BigInt(g), 0n);
}

/** Parses `a.b.c.d/n`, `x::/n` or a bare address (a /32 or /128); null when malformed. */
export function parseCidr(input: string): Cidr | null {
  const [addr = '', len, extra] = input.trim().split('/');
  if (extra !== undefined) return null;
  const ip = parseIp(addr);
  if (!ip) return null;
  const bits = ip.family === 4 ? 32 : 128;
  const prefix = len === undefined ? bits : Number(len);
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > bits || (len !== undefined && !/^\d+$/.test(len))) {
    return null;
  }
  return { family: ip.family, network: ip.value & mask(bits, prefix), prefix };
}

function mask(bits: number, prefix: number): bigint {
  const all = (1n << BigInt(bits)) - 1n;
  return prefix === 0 ? 0n : (all >> BigInt(bits - prefix)) << BigInt(bits - prefix);
}

/** True when `ip` lies inside `cidr` (families must match). */
export function cidrContains(cidr: Cidr, ip: IpAddress): boolean {
  if (cidr.family !== ip.family) return false;
  const bits = ip.family === 4 ? 32 : 128;
  return (ip.value & mask(bits, cidr.prefix)) === cidr.network;
}

/** The IPv4 address held in the low 32 bits of an IPv6 value. */
export function embeddedV4(value: bigint): IpAddress {
  return { family: 4, value: value & 0xffffffffn };
}

/**
 * The unit a client is limited as: an IPv4 address (also when written IPv4-mapped, `::ffff:a.b.c.d`), or
 * the /64 network of an IPv6 address, since one IPv6 host usually holds a whole /64. Anything that is not
 * an IP address is its own unit.
 */
export function clientBucket(address: string): string {
  if (isIP(address) === 4) return address;
  const ip = parseIp(address);
  if (!ip) return address;
  if (ip.family === 4) return address;
  if (ip.value >> 32n === 0xffffn) {
    const v4 = Number(ip.value & 0xffffffffn);
    return [v4 >>> 24, (v4 >>> 16) & 255, (v4 >>> 8) & 255, v4 & 255].join('.');
  }
  const hex = (ip.value >> 64n).toString(16).padStart(16, '0');
  return `${hex.slice(0, 4)}:${hex.slice(4, 8)}:${hex.slice(8, 12)}:${hex.slice(12)}::/64`;
}
