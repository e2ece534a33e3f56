import { isIP } from 'node:net';
import { join } from 'node:path';
import type { Door } from '../../core/door.js';
import { Fail2banFilter, type Failure } from '../../core/fail2ban/filter.js';
import type { DoorSource, SourceFactory } from '../door-source.js';
import { FileFollower } from './follow.js';
import { HitCounter } from './hit-counter.js';
import { JournalFollower } from './journal-follow.js';

/**
 * The address sesame can grant for a failure: the `<ADDR>`/`<IP4>`/`<IP6>` part, or a failure
 * id that is an address. Host names (`<DNS>`) and other ids grant nothing.
 */
export function grantableAddress(f: Failure): string | null {
  for (const candidate of [f.address, f.host, f.id]) {
    if (candidate === undefined) continue;
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(candidate);
    const address = mapped ? mapped[1] : candidate.replace(/^\[(.*)\]$/, '$1');
    if (isIP(address)) return address;
  }
  return null;
}

/**
 * The log-watch door source: follows `log.file` (or the journal, `log.journal`), and each line the door's filter reports counts
 * a hit for its address; at `maxretry` hits within `findtime` the address is granted.
 */
export const logWatchSource: SourceFactory = async (door: Door, ctx) => {
  if (door.kind !== 'log') return null;
  const filter = new Fail2banFilter(door.log); // config validation already compiled it once
  const counter = new HitCounter(door.log.maxRetry, door.log.findTimeMs);
  const onLine = (line: string, opts: { dateKnown?: boolean } = {}) => {
    if (line.length > door.log.maxLine) {
      // never matched: a regex's cost grows with the line (a hostile User-Agent), a knock's line is short
      ctx.refused({
        source: 'log',
        door: door.name,
        reason: 'line-too-long',
        fields: { length: line.length, max_line: door.log.maxLine },
      });
      return;
    }
    const failure = filter.processLine(line, opts)[0];
    if (!failure) return;
    const address = grantableAddress(failure);
    if (!address) {
      // the filter matched a line that names a host name or an id: a door grants addresses only
      ctx.refused({ source: 'log', door: door.name, reason: 'not-an-address' });
      return;
    }
    if (!counter.hit(address, Date.now())) return;
    ctx
      .grant(door, address, { via: 'log' })
      .catch((err) =>
        ctx.logger.log('error', 'grant-failed', { door: door.name, address, reason: String(err?.message ?? err) }),
      );
  };
  const journal = door.log.journal;
  if (journal) {
    const cursorFile = join(ctx.stateDir, `journal-${door.name.replace(/[^A-Za-z0-9_.-]/g, '_')}.cursor`);
    // a journal entry carries its own time: the filter looks for no date in the line (as fail2ban)
    const follower = new JournalFollower(journal, cursorFile, (line) => onLine(line, { dateKnown: true }), {
      onError: (err) => ctx.logger.log('warn', 'journal-read-failed', { door: door.name, reason: err.message }),
      onRestart: (reason, delayMs) =>
        ctx.logger.log('warn', 'journal-restart', { door: door.name, reason, delay_ms: delayMs }),
    });
    await follower.start();
    ctx.logger.log('info', 'log-watch', {
      door: door.name,
      journal: journal.join(' '),
      regexes: door.log.failregex.length,
      resumed: follower.lastCursor !== null,
    });
    return { stop: () => follower.stop() };
  }
  const file = door.log.file ?? '';
  const follower = new FileFollower(file, (line) => onLine(line), {
    onError: (err) => ctx.logger.log('warn', 'log-read-failed', { door: door.name, file, reason: err.message }),
  });
  await follower.start();
  ctx.logger.log('info', 'log-watch', { door: door.name, file, regexes: door.log.failregex.length });
  const source: DoorSource = { stop: () => follower.stop() };
  return source;
};
