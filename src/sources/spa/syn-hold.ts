import type { PortSpec } from '../../core/door.js';
import type { QueuedPacket } from '../../netfilter/nfqueue-codec.js';
import type { Clock } from '../../core/contracts.js';

/**
 * Zero-RTT for clients that connect right after their SPA packet (the stock `fwknop` does:
 * it sends and exits, and ssh's first SYN is on the wire before sesame has checked the
 * packet). The ruleset marks every address that just sent a datagram to the SPA port for a
 * moment and hands that address's SYNs to a protected port to NFQUEUE instead of dropping
 * them. Here each held SYN waits for the packet's verdict: accepted when a grant for its
 * address and port comes in (the grant is in the kernel by then, so later packets pass on
 * their own), dropped at the deadline otherwise, which is what would have happened to it.
 */

export interface SynHoldOptions {
  /** Gives the kernel the verdict for a held packet. */
  readonly verdict: (id: number, accept: boolean) => void;
  /** How long a SYN may wait for its SPA packet's grant (default 500 ms). */
  readonly deadlineMs?: number;
  readonly now?: Clock;
}

interface Waiting {
  readonly id: number;
  readonly port: string;
  readonly timer: NodeJS.Timeout;
}

const PROTOCOLS: Record<number, PortSpec['proto']> = { 6: 'tcp', 17: 'udp' };
/** Recent grants remembered for SYNs the kernel queued before the grant but sesame reads after. */
const RECENT_MAX = 4096;

export class SynHold {
  private readonly waiting = new Map<string, Waiting[]>();
  private readonly recent = new Map<string, { ports: Set<string>; until: number }>();
  private readonly deadlineMs: number;
  private readonly now: Clock;

  constructor(private readonly opts: SynHoldOptions) {
    this.deadlineMs = opts.deadlineMs ?? 500;
    this.now = opts.now ?? Date.now;
  }

  /** A SYN the kernel queued. */
  held(p: QueuedPacket): void {
    const proto = PROTOCOLS[p.protocol];
    if (!proto || p.destPort === null) return this.opts.verdict(p.id, false);
    const port = `${proto}/${p.destPort}`;
    const grant = this.recent.get(p.source);
    if (grant && grant.until > this.now() && grant.ports.has(port)) return this.opts.verdict(p.id, true);
    const timer = setTimeout(() => this.release(p.source, (w) => w.id === p.id, false), this.deadlineMs);
    timer.unref();
    const list = this.waiting.get(p.source) ?? [];
    list.push({ id: p.id, port, timer });
    this.waiting.set(p.source, list);
  }

  /** A grant is in the kernel: the address's held SYNs to those ports pass. */
  granted(address: string, ports: readonly PortSpec[]): void {
    const keys = new Set(ports.map((p) => `${p.proto}/${p.port}`));
    this.release(address, (w) => keys.has(w.port), true);
    const now = this.now();
    if (this.recent.size >= RECENT_MAX) for (const [a, g] of this.recent) if (g.until <= now) this.recent.delete(a);
    if (this.recent.size < RECENT_MAX) this.recent.set(address, { ports: keys, until: now + this.deadlineMs });
  }

  /** Stopping: every held SYN is dropped, as it would be without sesame. */
  close(): void {
    for (const address of [...this.waiting.keys()]) this.release(address, () => true, false);
    this.recent.clear();
  }

  /** Packets held right now (tests, metrics). */
  get size(): number {
    let n = 0;
    for (const list of this.waiting.values()) n += list.length;
    return n;
  }

  private release(address: string, which: (w: Waiting) => boolean, accept: boolean): void {
    const list = this.waiting.get(address);
    if (!list) return;
    const keep: Waiting[] = [];
    for (const w of list) {
      if (!which(w)) keep.push(w);
      else {
        clearTimeout(w.timer);
        this.opts.verdict(w.id, accept);
      }
    }
    if (keep.length) this.waiting.set(address, keep);
    else this.waiting.delete(address);
  }
}
