import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { SpaDoor } from '../../core/door.js';
import { spaHoldQueue } from '../../core/kernel-names.js';
import type { DoorSource, GrantContext, SourceFactory } from '../door-source.js';
import { openQueue, type PacketQueue } from '../../netfilter/nfqueue.js';
import { JournalReplayCache } from '../replay/journal-replay-cache.js';
import { startSpaListeners } from './listeners.js';
import { SpaReceiver } from './receiver.js';
import { signersFromUsers } from './signers.js';
import { SynHold } from './syn-hold.js';
import { SesameError } from '../../core/sesame-error.js';

/** A listener could not start; the message names the transport and port. */
export class SpaListenError extends SesameError {
  static override readonly code = 'E_SPA_LISTEN';
  override readonly name = 'SpaListenError';
}

/**
 * SPA as a door source. One set of listeners serves every `spa` door (stanzas are tried in
 * plan order), so the first spa door's source runs them and the others return null. Seen
 * packets are kept in `STATE_DIR/replay-spa.journal`, so a replay after a restart or a
 * `kill -9` is refused too.
 */
export const spaSource: SourceFactory = async (door, ctx) => {
  const doors = ctx.plan.doors.filter((d): d is SpaDoor => d.kind === 'spa');
  if (door.kind !== 'spa' || doors[0] !== door || !ctx.plan.spaListen) return null;
  const listen = ctx.plan.spaListen;

  mkdirSync(ctx.stateDir, { recursive: true, mode: 0o700 });
  const replay = JournalReplayCache.open(join(ctx.stateDir, 'replay-spa.journal'), {
    warn: (event, fields) => ctx.logger.log('warn', event, fields),
  });
  const receiver = new SpaReceiver({
    doors,
    // fleet mode: a packet used on any node is refused on all
    replay: ctx.sharedReplay?.(replay) ?? replay,
    grant: (d, address, opts) => ctx.grant(d, address, opts),
    refused: (e) => ctx.refused({ source: 'spa', ...e }),
    log: (level, event, fields) => ctx.logger.log(level, event, fields),
    signers: signersFromUsers(ctx.plan.users, (level, event, fields) => ctx.logger.log(level, event, fields)),
  });
  const hold = listen.udp ? await openSynHold(ctx) : null;
  let listeners;
  try {
    listeners = await startSpaListeners(
      listen,
      async (data, peer, local, via) => {
        const outcome = await receiver.receive(data, peer, local, via);
        if (outcome.ok) hold?.granted(outcome.address, outcome.ports);
        return outcome;
      },
      (what, err) => ctx.logger.log('warn', 'spa-listener-error', { transport: what, reason: err.message }),
    );
  } catch (cause) {
    hold?.close();
    replay.close();
    throw new SpaListenError(`spa listeners (${describe(listen)}): ${(cause as Error).message}`, { cause });
  }
  ctx.logger.log('info', 'spa-listening', {
    ...listeners.ports,
    ...(listen.host ? { host: listen.host } : {}),
    doors: doors.map((d) => d.name),
  });
  const source: DoorSource = {
    stop: async () => {
      await listeners.close();
      hold?.close();
      replay.close();
    },
  };
  return source;
};

/**
 * The zero-RTT hold's queue (see syn-hold.ts). Without it (another program holds the queue)
 * SPA doors work as before: a SYN sent before the grant is dropped and retried by TCP.
 */
async function openSynHold(ctx: GrantContext): Promise<{ granted: SynHold['granted']; close(): void } | null> {
  let queue: PacketQueue;
  try {
    queue = await openQueue(spaHoldQueue(ctx.plan));
  } catch (err) {
    ctx.logger.log('warn', 'spa-hold-unavailable', {
      reason: String((err as Error).message),
      note: 'a SYN sent before its SPA grant is retried by TCP after 1 s',
    });
    return null;
  }
  const hold = new SynHold({ verdict: (id, accept) => queue.verdict(id, accept) });
  queue.on('packet', (p) => hold.held(p));
  queue.on('invalid', (reason) => ctx.logger.log('warn', 'spa-hold-invalid', { reason }));
  return {
    granted: (address, ports) => hold.granted(address, ports),
    close: () => {
      hold.close();
      queue.close();
    },
  };
}

function describe(l: { host?: string; udp: number | null; tcp: number | null; http: number | null }): string {
  const parts = [l.udp && `udp ${l.udp}`, l.tcp && `tcp ${l.tcp}`, l.http && `http ${l.http}`].filter(Boolean);
  return `${l.host ?? '::'} ${parts.join(', ')}`;
}
