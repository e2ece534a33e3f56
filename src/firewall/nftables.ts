import type { Family, Plan, PortSpec } from '../core/door.js';
import { grantSet, grantSets, PROBE_TABLE, TABLE, TABLE_REF } from '../core/kernel-names.js';
import { type Exec, type ExecResult, execFile, FirewallError } from './exec.js';
import { type ElementWriter, NetlinkError } from '../netfilter/element-writer.js';
import { type ElementChange, elementKey } from '../netfilter/set-elements.js';
import { compileNft, type KernelFeatures } from './nft/compile.js';
import { element, elementCommand, type Grant, parseGrants } from './nft/grant-elements.js';
import { replaceDoor } from './nft/replace-door.js';
import { type GrantSetInfo, listedDoors, parseGrantSetInfo } from './nft/table-listing.js';
import { REMOVE_TABLE, replaceTable } from './nft/replace-table.js';

export { type Grant, parseGrants } from './nft/grant-elements.js';

/** sesame's table as the kernel holds it. */
export interface TableListing {
  readonly doors: readonly string[];
  readonly grants: readonly Grant[];
}

/** A grant to add or refresh: one element, or one per port for per-port grant sets. */
export interface GrantRequest {
  readonly door: string;
  readonly family: Family;
  readonly address: string;
  readonly forMs: number;
  readonly ports?: readonly PortSpec[];
}

/**
 * The nftables backend: loads compiled rulesets atomically and reads/edits grant sets.
 * All changes go through `nft -f -` so each one is a single kernel transaction.
 */
export class Nftables {
  private probed?: Promise<KernelFeatures>;
  private inPlace?: Promise<boolean>;
  /**
   * `elements`, when given, carries grants and revocations over netlink (the daemon keeps one
   * socket open); without it every change is an `nft` run.
   */
  constructor(
    private readonly exec: Exec = execFile,
    private readonly nft = 'nft',
    private readonly elements?: ElementWriter,
  ) {}

  /** The daemon's backend: nft for loads, `elements` (netlink), when open, for grants. */
  static withElements(elements: ElementWriter | undefined): Nftables {
    return new Nftables(execFile, 'nft', elements);
  }

  /**
   * Replaces sesame's table with `plan`'s ruleset in one transaction, carrying over the grants
   * still running (with their remaining time) whose grant set the plan still declares.
   * Loading the same plan twice leaves exactly one copy.
   */
  async apply(plan: Plan): Promise<{ kept: Grant[] }> {
    // asked now, at load, rather than on the first grant's path
    if (this.elements) await this.refreshesInPlace();
    const ruleset = compileNft(plan, await this.featuresFor(plan));
    const before = await this.listGrants();
    const sets = grantSets(plan);
    const kept = before.filter((g) => sets.has(grantSet(g.door, g.family)) && g.expiresMs >= 1000);
    const script = [
      replaceTable(ruleset),
      ...kept.map((g) =>
        elementCommand('add', g.door, g.family, element(g.family, g.address, g.port), g.timeoutMs, g.expiresMs),
      ),
    ].join('\n');
    await this.run(['-f', '-'], script);
    return { kept };
  }

  /**
   * Turns the table loaded from `before` into `after`'s by replacing door `door`'s rules and
   * knock state only, in one transaction (see nft/replace-door.ts): every grant and every other
   * door's knocks in progress stay. Throws DoorSwapError when that isn't enough to get there.
   */
  async replaceDoor(before: Plan, after: Plan, door: string): Promise<void> {
    await this.run(['-f', '-'], replaceDoor(before, after, door, await this.featuresFor(after)));
  }

  /**
   * Kernel features sesame uses when present, probed once with `nft -c` (a dry run the kernel
   * checks): custom kernels often lack nft `queue`. A failed probe means "absent".
   */
  features(): Promise<KernelFeatures> {
    this.probed ??= this.spawn(['-c', '-f', '-'], QUEUE_PROBE).then(
      (r) => ({ queue: r.code === 0 }),
      () => ({ queue: false }),
    );
    return this.probed;
  }

  /** The features `plan` would use (only SPA doors use any: no probe for the others). */
  private async featuresFor(plan: Plan): Promise<KernelFeatures> {
    return plan.doors.some((d) => d.kind === 'spa') ? this.features() : {};
  }

  /** Validates a ruleset without loading it (`nft -c`). */
  async check(ruleset: string): Promise<void> {
    await this.run(['-c', '-f', '-'], ruleset);
  }

  /** Removes sesame's table (and with it every grant and knock state). */
  async flush(): Promise<void> {
    await this.run(['-f', '-'], REMOVE_TABLE);
  }

  /** Whether sesame's table is loaded. Throws FirewallError when nft can't tell (not root, crashed, ...). */
  async exists(): Promise<boolean> {
    return (await this.query(['list', 'table', 'inet', TABLE])) !== null;
  }

  /**
   * Every grant in the kernel, from the `*_open_4/6` sets. Empty only when the table does not
   * exist; any other failure (not root, nft crashed) throws FirewallError, so a caller never
   * mistakes "can't read" for "no grants".
   */
  async listGrants(): Promise<readonly Grant[]> {
    return (await this.listTable())?.grants ?? [];
  }

  /**
   * sesame's table as loaded, in one listing: its doors and their grants (`sesame status`).
   * Null only when the table does not exist; other failures throw FirewallError.
   */
  async listTable(): Promise<TableListing | null> {
    const json = await this.query(['-j', 'list', 'table', 'inet', TABLE]);
    return json === null ? null : { doors: listedDoors(json), grants: parseGrants(json) };
  }

  /** Door `door`'s grant set for `family` as loaded; null when it isn't (no such door loaded). */
  async grantSetInfo(door: string, family: Family): Promise<GrantSetInfo | null> {
    const json = await this.query(['-j', 'list', 'set', 'inet', TABLE, grantSet(door, family)]);
    return json === null ? null : parseGrantSetInfo(json);
  }

  /**
   * The host's whole nftables ruleset as `nft -j` JSON text, every tool's tables (`sesame doctor`),
   * without named sets' elements (`-t`): doctor walks rules, and sesame's own grant and knock
   * sets can hold a million elements.
   */
  async listRuleset(): Promise<string> {
    const args = ['-j', '-t', 'list', 'ruleset'];
    const r = await this.spawn(args);
    if (r.code !== 0) throw this.failure(args, r);
    return r.stdout;
  }

  /**
   * The grants of the named doors only. Cheaper than listGrants() when knock-progress sets
   * are large (a spoofed flood can fill them with set_size entries each). A door whose set
   * does not exist has no grants; other failures throw FirewallError.
   */
  async listDoorGrants(doors: readonly string[]): Promise<Grant[]> {
    const sets = doors.flatMap((d) => [grantSet(d, 4), grantSet(d, 6)]);
    const lists = await Promise.all(sets.map((set) => this.query(['-j', 'list', 'set', 'inet', TABLE, set])));
    return lists.flatMap((json) => (json === null ? [] : parseGrants(json)));
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
    await this.grantMany([{ door, family, address, forMs, ...(ports ? { ports } : {}) }]);
  }

  /**
   * Adds or refreshes many grants in one transaction (grants from other fleet nodes arrive in
   * batches). Refreshing restarts an existing grant's timeout: on kernels where adding an
   * element again updates its timeout (probed once, see refreshesInPlace) a plain add does it;
   * elsewhere each element is added (a no-op if present), deleted and added again, ten times the
   * kernel's work for a batch. `ports` as in grant().
   */
  async grantMany(grants: readonly GrantRequest[]): Promise<void> {
    if (grants.length === 0) return;
    const elements = grants.flatMap((g) => (g.ports ?? [undefined]).map((port) => ({ ...g, port })));
    if (this.elements) {
      const inPlace = await this.refreshesInPlace();
      const changes = elements.flatMap((e): ElementChange[] => {
        const add = { verb: 'add' as const, set: grantSet(e.door, e.family), key: elementBytes(e), timeoutMs: e.forMs };
        return inPlace ? [add] : [add, { verb: 'delete', set: add.set, key: add.key }, add];
      });
      return this.writeElements(changes);
    }
    const lines = elements.flatMap((e) => {
      const key = element(e.family, e.address, e.port);
      const add = elementCommand('add', e.door, e.family, key, e.forMs);
      return [add, elementCommand('delete', e.door, e.family, key), add];
    });
    await this.run(['-f', '-'], `${lines.join('\n')}\n`);
  }

  /**
   * Whether adding an element that is already in a set restarts its timeout (recent kernels;
   * older ones keep the old timeout, so a re-knock would not extend the grant). Asked once, in
   * a throw-away table that holds no rules: two transactions, a listing, then it is removed.
   * Any failure answers no, which is the slower, always-correct way.
   */
  refreshesInPlace(): Promise<boolean> {
    this.inPlace ??= (async () => {
      const set = `inet ${PROBE_TABLE} timeouts`;
      try {
        await this.run(
          ['-f', '-'],
          `table inet ${PROBE_TABLE} {}\ndelete table inet ${PROBE_TABLE}\ntable inet ${PROBE_TABLE} {\n  set timeouts { type ipv4_addr; flags timeout; elements = { 192.0.2.1 timeout 10s } }\n}\n`,
        );
        await this.run(['-f', '-'], `add element ${set} { 192.0.2.1 timeout 1h }\n`);
        const listed = await this.query(['-j', 'list', 'set', ...set.split(' ')]);
        return listed !== null && /"timeout":\s*3600\b/.test(listed);
      } catch {
        return false;
      } finally {
        await this.query(['delete', 'table', 'inet', PROBE_TABLE]).catch(() => null);
      }
    })();
    return this.inPlace;
  }

  /**
   * Ends an address's grant now; for a per-port grant set, every port it holds. False when it
   * (or its set) doesn't exist; other failures throw FirewallError.
   */
  async revoke(door: string, family: Family, address: string): Promise<boolean> {
    // read first: a per-port set holds one element per port, and nothing held means nothing to do
    const held = (await this.listDoorGrants([door])).filter((g) => g.family === family && g.address === address);
    if (held.length === 0) return false;
    if (this.elements) {
      const set = grantSet(door, family);
      try {
        await this.writeElements(held.map((g) => ({ verb: 'delete', set, key: elementBytes(g) })));
        return true;
      } catch (err) {
        // it expired between the read and the delete
        if (err instanceof FirewallError && ABSENT.test(err.stderr)) return false;
        throw err;
      }
    }
    const script = held.map((g) => elementCommand('delete', door, family, element(family, address, g.port))).join('\n');
    return (await this.query(['-f', '-'], `${script}\n`)) !== null;
  }

  /** Changes over the netlink socket; what the kernel refused is a FirewallError, as from nft. */
  private async writeElements(changes: readonly ElementChange[]): Promise<void> {
    try {
      await this.elements?.write(changes);
    } catch (err) {
      if (err instanceof NetlinkError) throw new FirewallError(err.operation, null, err.detail, { cause: err });
      throw err;
    }
  }

  private async run(args: string[], input: string): Promise<void> {
    const r = await this.spawn(args, input);
    if (r.code !== 0) throw this.failure(args, r, input);
  }

  /** stdout of a command that reads or deletes something; null when that thing does not exist. */
  private async query(args: string[], input?: string): Promise<string | null> {
    const r = await this.spawn(args, input);
    if (r.code === 0) return r.stdout;
    if (r.code === 1 && ABSENT.test(r.stderr)) return null;
    throw this.failure(args, r, input);
  }

  private async spawn(args: string[], input?: string): Promise<ExecResult> {
    try {
      return await this.exec(this.nft, args, input);
    } catch (cause) {
      throw new FirewallError(`${this.nft} ${args.join(' ')}`, null, `cannot run ${this.nft}: is nftables installed?`, {
        cause,
      });
    }
  }

  private failure(args: string[], r: ExecResult, input?: string): FirewallError {
    const lines = input ? input.split('\n').length : 0;
    const hint = r.signal
      ? `The script had ${lines} lines; if the config has thousands of doors, split it or use fewer doors.`
      : undefined;
    return new FirewallError(`${this.nft} ${args.join(' ')}`, r.code, r.stderr, { signal: r.signal, hint });
  }
}

/** The element's key bytes for netlink; only a plain address of the family gets one. */
function elementBytes(e: { family: Family; address: string; port?: PortSpec }): Uint8Array {
  const key = elementKey(e.family, e.address, e.port);
  if (!key)
    throw new FirewallError('netlink element', null, `not an IPv${e.family} address: ${JSON.stringify(e.address)}`);
  return key;
}

/** A table that is only checked, never loaded, with the one statement the queue feature needs. */
const QUEUE_PROBE = `table inet ${PROBE_TABLE} {\n  chain probe {\n    tcp dport 9 queue num 9\n  }\n}\n`;

/**
 * nft's answer (ENOENT) when the table, set or element a command names does not exist: the
 * only failure that means "absent". Anything else (EPERM as non-root, a crash) is an error.
 */
const ABSENT = /No such file or directory/;
