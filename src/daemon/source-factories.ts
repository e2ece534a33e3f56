import type { Door } from '../core/door.js';
import type { SourceFactory } from '../sources/door-source.js';

/**
 * A factory whose module is imported only when a door of `kind` exists: a daemon with only
 * kernel doors never loads the HTTP server, the log follower and fail2ban's filters, or the
 * SPA decoder (each costs the idle daemon memory it keeps for its whole life).
 */
function lazySource(kind: Door['kind'], load: () => Promise<SourceFactory>): SourceFactory {
  return async (door, ctx) => (door.kind === kind ? (await load())(door, ctx) : null);
}

/** Every daemon-side source. Add one: a file in sources/, one line here. */
export const SOURCE_FACTORIES: readonly SourceFactory[] = [
  lazySource('shared', async () => (await import('../sources/shared-token.js')).sharedTokenSource),
  lazySource('log', async () => (await import('../sources/logwatch/source.js')).logWatchSource),
  lazySource('http', async () => (await import('../sources/http/source.js')).httpKnockSource),
  lazySource('spa', async () => (await import('../sources/spa/source.js')).spaSource),
];
