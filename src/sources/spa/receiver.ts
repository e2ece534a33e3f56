import { createHash } from 'node:crypto';
import type { PortSpec, SpaDoor } from '../../core/door.js';
import { formatPort } from '../../core/door.js';
import { type Admission, plainIp, SpaGate } from '../../core/spa/admit.js';
import { expandCmdCycle } from '../../core/spa/cmd-cycle.js';
import { checkWire } from '../../core/spa/packet.js';
import { type SignedAdmission, SignedSpaGate, type Signers } from '../../core/spa/signed-admit.js';
import { looksSigned } from '../../core/spa/signed-packet.js';
import type { GrantOptions } from '../door-source.js';
import { RateLimiter } from '../http/rate-limit.js';
import type { RefusalEvent } from '../door-source.js';
import type { Clock, LogFn, ReplayCache } from '../../core/contracts.js';

/** How a packet arrived, for logs. */
export type SpaTransport = 'udp' | 'tcp' | 'http';

export interface SpaReceiverDeps {
  readonly doors: readonly SpaDoor[];
  readonly replay: ReplayCache;
  readonly grant: (door: SpaDoor, address: string, opts: GrantOptions) => Promise<void>;
  /** Every refused packet: the daemon counts it and logs it, bounded per kind. */
  readonly refused: (e: Omit<RefusalEvent, 'source'>) => void;
  readonly log: LogFn;
  readonly now?: Clock;
  /**
   * HMAC checks one source (an IPv4 address, an IPv6 /64; /56 and /48 get 4 and 16 times
   * as many) may cost per second; past it, its packets are refused unchecked.
   */
  readonly hmacBudgetPerS?: number;
  /** The users' public keys, for sesame's signed packets to doors with `users:`. */
  readonly signers?: Signers;
}

/** A user's packet costs one HMAC per distinct key (20 for 20 stanzas): room for 100 a second. */
export const HMAC_BUDGET_PER_S = 2000;

export type SpaOutcome =
  { ok: true; door: string; address: string; ports: readonly PortSpec[] } | { ok: false; reason: string };

/**
 * One SPA packet, whatever the transport: wire check, HMAC (per stanza, constant time),
 * replay cache, decryption, policy, then the grant. Resolves only after the grant is in the
 * kernel, so a listener that answers after it answers a client whose next SYN passes.
 * Never rejects: every failure is a refusal with a reason, logged once.
 */
export class SpaReceiver {
  private readonly gate: SpaGate;
  private readonly signed: SignedSpaGate | null;
  private readonly now: Clock;
  private readonly budget: RateLimiter;

  constructor(private readonly deps: SpaReceiverDeps) {
    this.gate = new SpaGate(deps.doors);
    const userDoors = deps.doors.filter((d) => d.users?.length);
    this.signed = deps.signers && userDoors.length ? new SignedSpaGate(userDoors, deps.signers) : null;
    this.now = deps.now ?? Date.now;
    // per source only: a global budget would let a flood spend everyone's
    this.budget = new RateLimiter(deps.hmacBudgetPerS ?? HMAC_BUDGET_PER_S, 1000, { globalPerS: null });
  }

  async receive(
    data: Uint8Array | string,
    peer: string,
    local: string | undefined,
    via: SpaTransport,
  ): Promise<SpaOutcome> {
    const from = plainIp(peer);
    const refuse = (reason: string, fields: Record<string, unknown> = {}): SpaOutcome => {
      const { door, ...rest } = fields;
      this.deps.refused({
        ...(typeof door === 'string' ? { door } : {}),
        reason,
        address: from,
        fields: { via, ...rest },
      });
      return { ok: false, reason };
    };
    if (typeof data !== 'string' && looksSigned(data)) return this.receiveSigned(data, from, via, refuse);
    const w = checkWire(data);
    if (!w.ok) return refuse(w.reason, { detail: w.detail });
    // the packet as received (a trailing newline of a packet file aside) is the replay key,
    // hashed only once an HMAC matched
    const replayKey = () => `spa:${createHash('sha256').update(w.wire).digest('base64')}`;
    const now = this.now();
    let a: Admission;
    try {
      a = await this.gate.admit(
        w.wire,
        peer,
        local,
        now,
        (ttlMs) => this.deps.replay.use(replayKey(), ttlMs),
        (cost) => this.budget.take(from, now, cost),
      );
    } catch (err) {
      // the replay cache could not record the packet: refuse rather than risk a replay
      return refuse('replay-cache-error', { detail: String((err as Error).message) });
    }
    if (!a.ok) return refuse(a.reason, { detail: a.detail, ...(a.door ? { door: a.door } : {}) });
    try {
      await this.deps.grant(a.door, a.address, {
        via: 'spa',
        ports: a.ports,
        forMs: a.timeoutMs,
        ...cycleCommands(a, from, local),
      });
    } catch (err) {
      this.deps.log('warn', 'spa-grant-failed', {
        door: a.door.name,
        address: a.address,
        reason: String((err as Error).message),
      });
      return { ok: false, reason: 'grant-failed' };
    }
    this.deps.log('info', 'spa-accepted', {
      door: a.door.name,
      address: a.address,
      from,
      via,
      user: a.message.username,
      ports: a.ports.map(formatPort),
      for_s: a.timeoutMs / 1000,
    });
    return { ok: true, door: a.door.name, address: a.address, ports: a.ports };
  }

  /** A sesame packet: signature checked against the named user's public keys, then the grant. */
  private async receiveSigned(
    data: Uint8Array,
    from: string,
    via: SpaTransport,
    refuse: (reason: string, fields?: Record<string, unknown>) => SpaOutcome,
  ): Promise<SpaOutcome> {
    if (!this.signed) return refuse('not-spa', { detail: 'a signed packet, and no spa door names users' });
    const now = this.now();
    let a: SignedAdmission;
    try {
      a = await this.signed.admit(
        data,
        from,
        now,
        (key, ttlMs) => this.deps.replay.use(key, ttlMs),
        () => this.budget.take(from, now, 1),
      );
    } catch (err) {
      return refuse('replay-cache-error', { detail: String((err as Error).message) });
    }
    if (!a.ok)
      return refuse(a.reason, {
        detail: a.detail,
        ...(a.door ? { door: a.door } : {}),
        ...(a.user ? { user: a.user } : {}),
      });
    try {
      await this.deps.grant(a.door, a.address, { via: 'spa', ports: a.ports, forMs: a.timeoutMs });
    } catch (err) {
      this.deps.log('warn', 'spa-grant-failed', {
        door: a.door.name,
        address: a.address,
        reason: String((err as Error).message),
      });
      return { ok: false, reason: 'grant-failed' };
    }
    this.deps.log('info', 'spa-accepted', {
      door: a.door.name,
      address: a.address,
      from,
      via,
      user: a.user,
      key: a.key,
      ports: a.ports.map(formatPort),
      for_s: a.timeoutMs / 1000,
    });
    return { ok: true, door: a.door.name, address: a.address, ports: a.ports };
  }
}

/** fwknopd's CMD_CYCLE_OPEN/CLOSE for an accepted packet, with its values in. */
function cycleCommands(
  a: Extract<Admission, { ok: true }>,
  from: string,
  local: string | undefined,
): { commands?: { start: string; stop?: string } } {
  const c = a.door.spa.commands;
  if (!c) return {};
  // fwknopd expands the first port the packet asked for
  const first = a.ports[0] ?? { proto: 'tcp' as const, port: 0 };
  const values = {
    ip: a.address,
    pktSrc: from,
    dst: local ? plainIp(local) : '',
    port: first.port,
    proto: first.proto,
    timestamp: a.message.timestamp,
    timeoutS: Math.round(a.timeoutMs / 1000),
  };
  const start = expandCmdCycle(c.open, values);
  return { commands: c.close ? { start, stop: expandCmdCycle(c.close, values) } : { start } };
}
