import type { Door, LogDoor } from '../../core/door.js';
import type { DoorSource, SourceFactory } from '../door-source.js';
import { compileFailregex, type Failregex, matchHost } from '../../core/failregex.js';
import { FileFollower } from './follow.js';
import { HitCounter } from './hit-counter.js';

/** Compiles a door's regexes; config validation already rejected bad ones. */
export function compileLogDoor(door: LogDoor): { fail: Failregex[]; ignore: Failregex[] } {
  const compile = (sources: readonly string[], requireHost: boolean) =>
    sources.map((s) => {
      const r = compileFailregex(s, requireHost);
      if (typeof r === 'string') throw new Error(`door ${door.name}: ${r}: ${s}`);
      return r;
    });
  return { fail: compile(door.log.failregex, true), ignore: compile(door.log.ignoreregex, false) };
}

/**
 * The log-watch door source: follows `log.file`, and each line matching a failregex counts a
 * hit for its address; at `maxretry` hits within `findtime` the address is granted.
 */
export const logWatchSource: SourceFactory = async (door: Door, ctx) => {
  if (door.kind !== 'log') return null;
  const { fail, ignore } = compileLogDoor(door);
  const counter = new HitCounter(door.log.maxRetry, door.log.findTimeMs);
  const follower = new FileFollower(
    door.log.file,
    (line) => {
      const address = matchHost(line, fail, ignore);
      if (!address || !counter.hit(address, Date.now())) return;
      ctx
        .grant(door, address, { via: 'log' })
        .catch((err) =>
          ctx.logger.log('error', 'grant-failed', { door: door.name, address, reason: String(err?.message ?? err) }),
        );
    },
    {
      onError: (err) =>
        ctx.logger.log('warn', 'log-read-failed', { door: door.name, file: door.log.file, reason: err.message }),
    },
  );
  await follower.start();
  ctx.logger.log('info', 'log-watch', { door: door.name, file: door.log.file, regexes: fail.length });
  const source: DoorSource = { stop: () => follower.stop() };
  return source;
};
