import { BlockList, isIP } from 'node:net';

/**
 * Which address a knock came from. The TCP peer, unless the peer is a trusted proxy: then
 * the `Forwarded` (RFC 7239) or `X-Forwarded-For` chain is walked from the right, skipping
 * trusted proxies, and the first other address is the client. A client can put anything in
 * these headers, so they are never read from an untrusted peer.
 */

/** `::ffff:198.18.0.2` (a v4 client on a dual-stack socket) is 198.18.0.2. */
export function plainAddress(address: string): string {
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return m ? m[1] : address;
}

/** Builds the matcher for `trusted_proxies` (addresses or CIDRs, validated by the config). */
export function trustedProxies(list: readonly string[]): BlockList {
  const block = new BlockList();
  for (const entry of list) {
    const [addr, bits] = entry.split('/');
    const type = isIP(addr) === 6 ? 'ipv6' : 'ipv4';
    if (bits === undefined) block.addAddress(addr, type);
    else block.addSubnet(addr, Number(bits), type);
  }
  return block;
}

function isTrusted(address: string, trusted: BlockList): boolean {
  const family = isIP(address);
  return family !== 0 && trusted.check(address, family === 6 ? 'ipv6' : 'ipv4');
}

/** One hop as a proxy wrote it: `198.18.0.2`, `198.18.0.2:4711`, `"[fd00::2]:4711"`, `fd00::2`. */
function hopAddress(raw: string): string | null {
  let v = raw.trim().replace(/^"(.*)"$/, '$1');
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(v);
  if (bracketed) v = bracketed[1];
  else if (/^\d+\.\d+\.\d+\.\d+:\d+$/.test(v)) v = v.slice(0, v.lastIndexOf(':'));
  v = plainAddress(v);
  return isIP(v) ? v : null;
}

/** The hops a `Forwarded` header lists, client first; null entries are unknown/obfuscated. */
export function forwardedHops(header: string): (string | null)[] {
  return header.split(',').map((element) => {
    const pair = element
      .split(';')
      .map((p) => p.trim())
      .find((p) => /^for=/i.test(p));
    return pair ? hopAddress(pair.slice(4)) : null;
  });
}

const first = (h: string | string[] | undefined) => (Array.isArray(h) ? h.join(',') : h);

/**
 * The client's address, or null when a trusted proxy forwarded something that isn't an
 * address (granting the proxy itself would open the door for everyone behind it).
 */
export function clientAddress(
  peer: string,
  headers: { forwarded?: string | string[]; 'x-forwarded-for'?: string | string[] },
  trusted: BlockList,
): string | null {
  const from = plainAddress(peer);
  if (!isTrusted(from, trusted)) return from;
  const forwarded = first(headers.forwarded);
  const xff = first(headers['x-forwarded-for']);
  const hops = forwarded ? forwardedHops(forwarded) : xff ? xff.split(',').map(hopAddress) : [];
  if (hops.length === 0) return from;
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = hops[i];
    if (hop === null) return null;
    if (!isTrusted(hop, trusted)) return hop;
  }
  return hops[0];
}
