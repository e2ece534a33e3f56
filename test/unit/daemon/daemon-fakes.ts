import { EventEmitter } from 'node:events';
import type { Family, Plan, PortSpec } from '../../../src/core/door.js';
import { Daemon, type DaemonDeps } from '../../../src/daemon/daemon.js';
import type { DaemonFirewall } from '../../../src/daemon/daemon-firewall.js';
import type { Logger } from '../../../src/core/contracts.js';
import { GrantStore } from '../../../src/daemon/grant-store.js';
import type { Grant } from '../../../src/firewall/nftables.js';
import type { LoggedPacket } from '../../../src/netfilter/nflog-codec.js';
import type { PacketSource } from '../../../src/netfilter/nflog.js';

/**
 * A kernel stand-in: a table that is loaded or not, and grants with an absolute end time,
 * read back like `nft list`. `slowMs` makes every change take that long, and a change that
 * starts while another runs is recorded in `overlaps` (the daemon must serialize them).
 */
export class FakeKernel {
  grants: { door: string; family: Family; address: string; end: number; ports?: readonly PortSpec[] }[] = [];
  table = false;
  applies = 0;
  /** One-time swaps that replaced one door's part (no grant read or carried over). */
  swaps: { before: Plan; after: Plan; door: string }[] = [];
  /** Set to make the next door replacements fail (the daemon then loads the whole table). */
  swapError?: Error;
  overlaps = 0;
  /** Set to make listings fail like `nft list` as non-root. */
  listError?: Error;
  slowMs = 0;
  private busy = false;
  constructor(private readonly clock: { now: number }) {}

  private async change<T>(fn: () => T): Promise<T> {
    if (this.busy) this.overlaps++;
    this.busy = true;
    try {
      if (this.slowMs) await new Promise((r) => setTimeout(r, this.slowMs));
      return fn();
    } finally {
      this.busy = false;
    }
  }

  live(): Grant[] {
    if (this.listError) throw this.listError;
    return this.grants
      .filter((g) => g.end > this.clock.now)
      .map((g) => ({
        door: g.door,
        family: g.family,
        address: g.address,
        expiresMs: g.end - this.clock.now,
        timeoutMs: 10_000,
      }));
  }

  firewall(): DaemonFirewall {
    return {
      apply: () =>
        this.change(() => {
          const kept = this.live();
          this.applies++;
          this.table = true;
          return { kept };
        }),
      replaceDoor: (before, after, door) =>
        this.change(() => {
          if (this.swapError) throw this.swapError;
          this.swaps.push({ before, after, door });
        }),
      flush: () =>
        this.change(() => {
          this.table = false;
          this.grants = [];
        }),
      grant: (door, family, address, forMs, ports) =>
        this.change(() => {
          this.grants = this.grants.filter((g) => g.door !== door || g.address !== address);
          this.grants.push({ door, family, address, end: this.clock.now + forMs, ...(ports ? { ports } : {}) });
        }),
      revoke: (door, _family, address) =>
        this.change(() => {
          const before = this.grants.length;
          this.grants = this.grants.filter((g) => g.door !== door || g.address !== address);
          return this.grants.length < before;
        }),
      listDoorGrants: async (doors) => this.live().filter((g) => doors.includes(g.door)),
    };
  }
}

export type FakePackets = PacketSource & { open(door: string, address: string, line?: number): void };

export function fakePackets(): FakePackets {
  const e = new EventEmitter() as FakePackets;
  e.close = () => {};
  e.open = (door, address, line) =>
    e.emit('packet', {
      prefix: `sesame open ${door}${line ? ` #${line}` : ''}`,
      family: address.includes(':') ? 6 : 4,
      source: address,
    } as LoggedPacket);
  return e;
}

export const quiet: Logger = { log() {} };

/** A logger that keeps `event` names and fields, for asserting what was logged. */
export function recordingLogger(): Logger & {
  events: { level: string; event: string; fields: Record<string, unknown> }[];
} {
  const events: { level: string; event: string; fields: Record<string, unknown> }[] = [];
  return { events, log: (level, event, fields = {}) => events.push({ level, event, fields }) };
}

/** kill -9: no stop(), nothing written beyond what already was; its timers die with it. */
export const killed = (d: Daemon) => (d as unknown as { watcher: { stop(): void } }).watcher.stop();

/** A started daemon on the fake kernel, with its state in `dir` and packets from `src`. */
export async function startDaemon(
  load: () => Plan,
  kernel: FakeKernel,
  dir: string,
  clock: { now: number },
  src: PacketSource = fakePackets(),
  extra: Partial<DaemonDeps> = {},
): Promise<Daemon> {
  const d = new Daemon(load, {
    firewall: kernel.firewall(),
    openPackets: async () => src,
    store: new GrantStore(dir),
    logger: quiet,
    now: () => clock.now,
    ...extra,
  });
  await d.start();
  return d;
}
