import type { Family, Plan, PortSpec } from '../core/door.js';
import type { Grant } from '../firewall/nftables.js';

/** The firewall operations the daemon uses (the nftables backend; a fake in unit tests). */
export interface DaemonFirewall {
  /** Loads the plan's ruleset in one transaction, keeping running grants; throws when it can't list or load. */
  apply(plan: Plan): Promise<{ kept: readonly Grant[] }>;
  /** Replaces door `door`'s rules and knock state only (one-time swap), keeping every grant. */
  replaceDoor(before: Plan, after: Plan, door: string): Promise<void>;
  flush(): Promise<void>;
  grant(door: string, family: Family, address: string, forMs: number, ports?: readonly PortSpec[]): Promise<void>;
  revoke(door: string, family: Family, address: string): Promise<boolean>;
  /** Many grants in one transaction (grants from other fleet nodes); absent: one `grant` each. */
  grantMany?(
    grants: readonly { door: string; family: Family; address: string; forMs: number; ports?: readonly PortSpec[] }[],
  ): Promise<void>;
  /** Throws when the kernel can't be asked (never "no grants" for a failed listing). */
  listDoorGrants(doors: readonly string[]): Promise<Grant[]>;
}
