/**
 * Which client a failed token counts against. Counting by the exact address would let one client
 * be many: every address in 127.0.0.0/8 reaches a server on 127.0.0.1 (bind(2) to 127.0.0.2 needs
 * no privilege), and a host on IPv6 usually holds a whole /64. So loopback is one client, an IPv6
 * address counts by its /64, and an IPv4 address written as IPv6 (::ffff:a.b.c.d) as itself.
 */
import { isIPv4, isIPv6 } from 'node:net';

export function clientKeyOf(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1];
  const v4 = mapped ?? (isIPv4(address) ? address : undefined);
  if (v4 !== undefined) return v4.startsWith('127.') ? 'loopback' : v4;
  if (!isIPv6(address)) return address;
  const groups = expandIPv6(address);
  if (groups.slice(0, 7).every((group) => group === 0) && groups[7] === 1) return 'loopback';
  return `${groups
    .slice(0, 4)
    .map((group) => group.toString(16))
    .join(':')}::/64`;
}

/** The eight 16-bit groups of an IPv6 address (a zone such as %eth0 is dropped). */
function expandIPv6(address: string): number[] {
  const [head = '', tail] = address.split('%')[0]!.toLowerCase().split('::');
  const parse = (part: string) =>
    part === '' ? [] : part.split(':').map((group) => Number.parseInt(group, 16));
  const [left, right] = [parse(head), parse(tail ?? '')];
  const missing = tail === undefined ? 0 : 8 - left.length - right.length;
  return [...left, ...Array<number>(missing).fill(0), ...right];
}
