import { EventEmitter } from 'node:events';
import type { Redis } from 'ioredis';

/** What the fake Redis clients share, as one server: string keys (with PX expiry) and streams. */
export interface FakeRedisServer {
  readonly strings: Map<string, string>;
  /** Expiry (Date.now() ms) of the string keys set with PX. */
  readonly expires: Map<string, number>;
  readonly streams: Map<string, [string, string[]][]>;
  /** PX of every SET, in order (key, ms). */
  readonly sets: [string, number][];
  /** Set to make the next pipeline's EXEC fail, as a connection lost mid-send (it then sets `lost`). */
  failExec: boolean;
  /** Set by a failed EXEC: the connection is gone until the test says it is back. */
  lost: boolean;
  /** Empties everything, as a Redis restarted without persistence. */
  flushAll(): void;
}

export function fakeServer(strings = new Map<string, string>()): FakeRedisServer {
  const server: FakeRedisServer = {
    strings,
    expires: new Map(),
    streams: new Map(),
    sets: [],
    failExec: false,
    lost: false,
    flushAll() {
      server.strings.clear();
      server.expires.clear();
      server.streams.clear();
    },
  };
  return server;
}

let sequence = 0;
const idNumber = (id: string) => Number(id.split('-')[0]);

/**
 * Just enough of an ioredis client for a fleet node: TIME, SET (PX), DEL, MGET, SCAN (MATCH
 * prefix*), XADD, XREAD (BLOCK: polls briefly, then nothing), XRANGE/XREVRANGE of one entry,
 * pipelines of SET/DEL/XADD; `connect` becomes ready at once. Every client made on one
 * server sees the same data, as nodes sharing a Redis do.
 */
export function fakeRedis(server: FakeRedisServer = fakeServer()): Redis {
  const live = (key: string) => {
    const exp = server.expires.get(key);
    if (exp !== undefined && exp <= Date.now()) {
      server.strings.delete(key);
      server.expires.delete(key);
    }
    return server.strings.get(key);
  };
  const set = (key: string, value: string, px?: string, ms?: number) => {
    server.strings.set(key, value);
    if (px === 'PX' && ms !== undefined) {
      server.expires.set(key, Date.now() + ms);
      server.sets.push([key, ms]);
    } else server.expires.delete(key);
    return 'OK';
  };
  const del = (key: string) => {
    server.expires.delete(key);
    return server.strings.delete(key) ? 1 : 0;
  };
  const xadd = (key: string, ...args: (string | number)[]) => {
    const fields = args.slice(args.indexOf('*') + 1).map(String);
    const id = `${++sequence}-0`;
    const stream = server.streams.get(key) ?? [];
    stream.push([id, fields]);
    server.streams.set(key, stream);
    return id;
  };
  const c = Object.assign(new EventEmitter(), {
    status: 'wait',
    async connect() {
      c.status = 'ready';
      setImmediate(() => c.emit('ready'));
    },
    disconnect() {
      c.status = 'end';
      c.emit('close');
    },
    async ping() {
      return 'PONG';
    },
    async time() {
      const ms = Date.now();
      return [String(Math.floor(ms / 1000)), String((ms % 1000) * 1000)];
    },
    async set(key: string, value: string, px?: string, ms?: number) {
      return set(key, value, px, ms);
    },
    async get(key: string) {
      return live(key) ?? null;
    },
    async mget(keys: string[]) {
      return keys.map((k) => live(k) ?? null);
    },
    async scan(_cursor: string, _match: string, pattern: string) {
      const prefix = pattern.replace(/\*$/, '');
      return ['0', [...server.strings.keys()].filter((k) => k.startsWith(prefix) && live(k) !== undefined)];
    },
    async xread(...args: (string | number)[]) {
      const block = Number(args[args.indexOf('BLOCK') + 1]);
      const key = String(args[args.length - 2]);
      let from = String(args[args.length - 1]);
      if (from === '$') from = server.streams.get(key)?.at(-1)?.[0] ?? '0-0';
      const deadline = Date.now() + Math.min(block, 50);
      for (;;) {
        const after = (server.streams.get(key) ?? []).filter(([id]) => idNumber(id) > idNumber(from));
        if (after.length > 0) return [[key, after]];
        if (c.status !== 'ready' || Date.now() >= deadline) return null;
        await new Promise((r) => setTimeout(r, 5));
      }
    },
    async xrange(key: string, start: string) {
      return (server.streams.get(key) ?? []).filter(([id]) => id === start);
    },
    async xrevrange(key: string) {
      return (server.streams.get(key) ?? []).slice(-1);
    },
    pipeline() {
      const ops: (() => unknown)[] = [];
      const pipe = {
        set: (key: string, value: string, px?: string, ms?: number) => (ops.push(() => set(key, value, px, ms)), pipe),
        del: (key: string) => (ops.push(() => del(key)), pipe),
        xadd: (key: string, ...args: (string | number)[]) => (ops.push(() => xadd(key, ...args)), pipe),
        exec: async () => {
          if (server.failExec) {
            server.failExec = false;
            server.lost = true;
            throw new Error('Connection is closed.');
          }
          return ops.map((op) => [null, op()]);
        },
      };
      return pipe;
    },
  });
  return c as unknown as Redis;
}
