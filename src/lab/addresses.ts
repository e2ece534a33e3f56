import type { Host, Lab } from './netns.js';

/**
 * Extra lab addresses: many source addresses on one client, so one namespace can stand in
 * for hundreds of clients (benchmarks, concurrency tests). Everything stays in 198.18.0.0/15.
 */

/** `count` consecutive IPv4 addresses starting at `first` (e.g. `198.18.16.0`). */
export function ipv4Range(first: string, count: number): string[] {
  const base = first.split('.').reduce((n, part) => n * 256 + Number(part), 0);
  return Array.from({ length: count }, (_, i) => {
    const n = base + i;
    return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
  });
}

/**
 * Adds `addresses` (as /32) to `client`'s eth0 and routes `prefix` from the server to that
 * client, so the server answers them over the bridge. One `ip -batch` per namespace.
 */
export async function addClientAddresses(
  lab: Lab,
  client: Host,
  addresses: readonly string[],
  prefix: string,
): Promise<void> {
  const batch = addresses.map((a) => `address add ${a}/32 dev eth0`).join('\n');
  const added = await lab.run(client, 'ip', ['-batch', '-'], { input: `${batch}\n` });
  if (added.code !== 0) throw new Error(`adding ${addresses.length} addresses in ${client.ns} failed: ${added.stderr}`);
  await routeToClient(lab, prefix, client);
}

/**
 * Routes `prefix` from the server namespace via `client`, so replies to spoofed sources in
 * that prefix go back into the lab (and die in the client namespace) instead of failing.
 */
export async function routeToClient(lab: Lab, prefix: string, client: Host): Promise<void> {
  const r = await lab.run(lab.server, 'ip', ['route', 'replace', prefix, 'via', client.v4, 'dev', 'br0']);
  if (r.code !== 0) throw new Error(`route ${prefix} via ${client.v4} in ${lab.server.ns} failed: ${r.stderr}`);
}
