import type { Family, Plan, PortSpec } from '../core/door.js';
import { nftDuration } from '../core/duration.js';
import { grantSet, grantSets, parseGrantSet, TABLE, TABLE_REF } from '../core/kernel-names.js';
import { type Exec, execFile, FirewallError } from './exec.js';
import { compileNft } from './nft/compile.js';
import { REMOVE_TABLE, replaceTable } from './nft/replace-table.js';

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
 * The nftables backend: loads compiled rulesets atomically and reads/edits grant sets.
 * All changes go through `nft -f -` so each one is a single kernel transaction.
 */
export class Nftables {
  constructor(
    private readonly exec: Exec = execFile,
    private readonly nft = 'nft',
  ) {}

  /**
   * Replaces sesame's table with `plan`'s ruleset in one transaction, carrying over the grants
   * still running (with their remaining time) whose grant set the plan still declares.
   * Loading the same plan twice leaves exactly one copy.
   */
  async apply(plan: Plan): Promise<{ kept: Grant[] }> {
    const ruleset = compileNft(plan);
    const before = await this.listGrants();
    const sets = grantSets(plan);
    const kept = before.filter((g) => sets.has(grantSet(g.door, g.family)) && g.expiresMs >= 1000);
    const script = [
      replaceTable(ruleset),
      ...kept.map((g) => elementCommand('add', g.door, g.family, element(g.address, g.port), g.timeoutMs, g.expiresMs)),
    ].join('\n');
    await this.run(['-f', '-'], script);
    return { kept };
  }

  /** Validates a ruleset without loading it (`nft -c`). */
  async check(ruleset: string): Promise<void> {
    await this.run(['-c', '-f', '-'], ruleset);
  }

  /** Removes sesame's table (and with it every grant and knock state). */
  async flush(): Promise<void> {
    await this.run(['-f', '-'], REMOVE_TABLE);
  }

  async exists(): Promise<boolean> {
    const r = await this.exec(this.nft, ['list', 'table', 'inet', TABLE]);
    return r.code === 0;
  }

  /** Every grant in the kernel, from the `*_open_4/6` sets. Empty when the table is absent. */
  async listGrants(): Promise<Grant[]> {
    const r = await this.exec(this.nft, ['-j', 'list', 'table', 'inet', TABLE]);
    if (r.code !== 0) return [];
    return parseGrants(r.stdout);
  }

  /**
   * The grants of the named doors only. Cheaper than listGrants() when knock-progress sets
   * are large (a spoofed flood can fill them with set_size entries each).
   */
  async listDoorGrants(doors: readonly string[]): Promise<Grant[]> {
    const sets = doors.flatMap((d) => [grantSet(d, 4), grantSet(d, 6)]);
    const lists = await Promise.all(sets.map((set) => this.exec(this.nft, ['-j', 'list', 'set', 'inet', TABLE, set])));
    return lists.flatMap((r) => (r.code === 0 ? parseGrants(r.stdout) : []));
  }

  /**
   * Adds or refreshes a grant (daemon-side doors: http, log watch, one-time sequences, SPA).
   * With `ports` (doors whose grant set is per port, see grantsPerPort) one element per port.
   */
  async grant(
    door: string,
    family: Family,
    address: string,
    forMs: number,
    ports?: readonly PortSpec[],
  ): Promise<void> {
    const elems = ports ? ports.map((p) => element(address, p)) : [address];
    // add (no-op if present), delete, add: one transaction that also refreshes an existing grant's timeout
    const add = elems.map((e) => elementCommand('add', door, family, e, forMs));
    const del = elems.map((e) => elementCommand('delete', door, family, e));
    await this.run(['-f', '-'], `${[...add, ...del, ...add].join('\n')}\n`);
  }

  /**
   * Adds or refreshes many grants in one transaction (grants from other fleet nodes arrive in
   * batches; one `nft` run per grant could not keep up with a busy fleet). `ports` as in grant().
   */
  async grantMany(
    grants: readonly { door: string; family: Family; address: string; forMs: number; ports?: readonly PortSpec[] }[],
  ): Promise<void> {
    if (grants.length === 0) return;
    const lines = grants.flatMap((g) =>
      (g.ports ? g.ports.map((p) => element(g.address, p)) : [g.address]).flatMap((e) => {
        const add = elementCommand('add', g.door, g.family, e, g.forMs);
        return [add, elementCommand('delete', g.door, g.family, e), add];
      }),
    );
    await this.run(['-f', '-'], `${lines.join('\n')}\n`);
  }

  /** Ends an address's grant now; for a per-port grant set, every port it holds. */
  async revoke(door: string, family: Family, address: string): Promise<boolean> {
    const held = (await this.listDoorGrants([door])).filter(
      (g) => g.family === family && g.address === address && g.port,
    );
    const elems = held.length ? held.map((g) => element(address, g.port)) : [address];
    const script = elems.map((e) => elementCommand('delete', door, family, e)).join('\n');
    const r = await this.exec(this.nft, ['-f', '-'], `${script}\n`);
    return r.code === 0;
  }

  private async run(args: string[], input: string): Promise<void> {
    let r: Awaited<ReturnType<Exec>>;
    try {
      r = await this.exec(this.nft, args, input);
    } catch (cause) {
      throw new FirewallError(`${this.nft} ${args.join(' ')}`, -1, `cannot run ${this.nft}: is nftables installed?`, {
        cause,
      });
    }
    if (r.code !== 0) throw new FirewallError(`${this.nft} ${args.join(' ')}`, r.code, r.stderr);
  }
}

/** A grant set element: the address, or `address . proto . port` for per-port sets. */
function element(address: string, port?: PortSpec): string {
  return port ? `${address} . ${port.proto} . ${port.port}` : address;
}

function elementCommand(
  verb: 'add' | 'delete',
  door: string,
  family: Family,
  address: string,
  timeoutMs?: number,
  expiresMs?: number,
): string {
  let elem = address;
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
