import { isIP } from 'node:net';
import type { Family, PortSpec } from '../../core/door.js';
import { nftDuration } from '../../core/duration.js';
import { grantSet, parseGrantSet, TABLE_REF } from '../../core/kernel-names.js';
import { FirewallError } from '../exec.js';

/*
 * Grant set elements as nft text: the element, the command that adds or deletes it, and the
 * grants read back from `nft -j list` (pure; the nftables backend runs them).
 */

/** A live grant read from the kernel. */
export interface Grant {
  readonly door: string;
  readonly family: Family;
  readonly address: string;
  /** Remaining lifetime in ms (the kernel's count, rounded down to the second). */
  readonly expiresMs: number;
  readonly timeoutMs: number;
  /** For per-port grant sets (SPA doors): the one port this element opens. */
  readonly port?: PortSpec;
}

/**
 * A grant set element: the address, or `address . proto . port` for per-port sets. The address
 * is the one piece of outside text in a grant command: only a plain address of the family may
 * reach nft.
 */
export function element(family: Family, address: string, port?: PortSpec): string {
  if (isIP(address) !== family)
    throw new FirewallError('nft element', null, `not an IPv${family} address: ${JSON.stringify(address)}`);
  return port ? `${address} . ${port.proto} . ${port.port}` : address;
}

/** An `add element` or `delete element` command for door `door`'s grant set. */
export function elementCommand(
  verb: 'add' | 'delete',
  door: string,
  family: Family,
  element: string,
  timeoutMs?: number,
  expiresMs?: number,
): string {
  let elem = element;
  if (timeoutMs !== undefined) elem += ` timeout ${nftDuration(timeoutMs)}`;
  if (expiresMs !== undefined) elem += ` expires ${nftDuration(expiresMs)}`;
  return `${verb} element ${TABLE_REF} ${grantSet(door, family)} { ${elem} }`;
}

/** Parses `nft -j list table` output into grants (pure, for tests). */
export function parseGrants(json: string): Grant[] {
  const grants: Grant[] = [];
  for (const item of JSON.parse(json).nftables ?? []) {
    const set = item.set;
    if (!set) continue;
    const id = parseGrantSet(set.name);
    if (!id) continue;
    const setTimeout = (set.timeout ?? 0) * 1000;
    for (const e of set.elem ?? []) {
      const elem = typeof e === 'object' && e.elem ? e.elem : { val: e };
      // per-port sets (SPA) list {concat: [address, proto, port]}
      const concat = typeof elem.val === 'object' && Array.isArray(elem.val?.concat) ? elem.val.concat : null;
      const proto = concat ? String(concat[1]) : '';
      grants.push({
        ...(concat && (proto === 'tcp' || proto === 'udp') ? { port: { proto, port: Number(concat[2]) } } : {}),
        door: id.door,
        family: id.family,
        address: String(concat ? concat[0] : elem.val),
        expiresMs: (elem.expires ?? 0) * 1000,
        timeoutMs: (elem.timeout ?? 0) * 1000 || setTimeout,
      });
    }
  }
  return grants;
}
