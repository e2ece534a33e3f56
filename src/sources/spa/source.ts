import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { SpaDoor } from '../../core/door.js';
import type { DoorSource, SourceFactory } from '../door-source.js';
import { JournalReplayCache } from '../replay/journal-replay-cache.js';
import { startSpaListeners } from './listeners.js';
import { SpaReceiver } from './receiver.js';
import { RefusalLog } from './refusal-log.js';

/** A listener could not start; the message names the transport and port. */
export class SpaListenError extends Error {
  override readonly name = 'SpaListenError';
  readonly code = 'E_SPA_LISTEN';
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
  const refusals = new RefusalLog((event, fields) => ctx.logger.log('warn', event, fields));
  const receiver = new SpaReceiver({
    doors,
    // fleet mode: a packet used on any node is refused on all
    replay: ctx.sharedReplay?.(replay) ?? replay,
    grant: (d, address, opts) => ctx.grant(d, address, opts),
    refusals,
    log: (level, event, fields) => ctx.logger.log(level, event, fields),
  });
  let listeners;
  try {
    listeners = await startSpaListeners(
      listen,
      (data, peer, local, via) => receiver.receive(data, peer, local, via),
      (what, err) => ctx.logger.log('warn', 'spa-listener-error', { transport: what, reason: err.message }),
    );
  } catch (cause) {
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
      refusals.stop();
      replay.close();
    },
  };
  return source;
};

function describe(l: { host?: string; udp: number | null; tcp: number | null; http: number | null }): string {
  const parts = [l.udp && `udp ${l.udp}`, l.tcp && `tcp ${l.tcp}`, l.http && `http ${l.http}`].filter(Boolean);
  return `${l.host ?? '::'} ${parts.join(', ')}`;
}
