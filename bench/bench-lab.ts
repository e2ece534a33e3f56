import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { addClientAddresses, ipv4Range, routeToClient } from '../src/lab/addresses.js';
import { createLab, type Host, type Lab } from '../src/lab/netns.js';
import { startEchoServer } from '../src/lab/processes.js';
import {
  DOOR,
  type DoorOptions,
  OPEN_PORT,
  PING_PORT,
  type RunningTool,
  startKnockd,
  startSesame,
  type ToolName,
} from './tools.js';

/**
 * One benchmark lab: a server running one tool on the bench door, a client namespace with
 * many source addresses (one per try, so no try sees another's grant), and a flood
 * namespace whose spoofed sources the server routes back to it.
 */
export interface BenchLab {
  readonly lab: Lab;
  readonly tool: RunningTool;
  readonly client: Host;
  readonly flooder: Host;
  /** Client source addresses, 198.18.16.0 onwards; take with `addresses(n)`. */
  addresses(n: number): string[];
  readonly target: string;
}

/**
 * The spoofed source blocks, SPOOF_PER_BLOCK addresses each: 98,304 in all, more than the
 * 65,536 a set holds. The server routes them back to the flood namespace.
 */
export const SPOOF_BLOCKS = [
  { first: '198.19.0.0', routes: ['198.19.0.0/16'] },
  { first: '198.18.64.0', routes: ['198.18.64.0/18', '198.18.128.0/17'] },
] as const;
export const SPOOF_PER_BLOCK = 49152;

const CLIENT_FIRST = '198.18.16.0';
const CLIENT_PREFIX = '198.18.16.0/20';
const CLIENT_MAX = 4096;

/** Builds the lab, starts the echo service and `tool`, runs `fn`, and always tears down. */
export async function withBenchLab<T>(
  tool: ToolName,
  opts: DoorOptions & {
    clientAddresses: number;
    /** another build of sesame (the bundle), and node options for its daemon */
    sesameBin?: string;
    sesameNodeFlags?: readonly string[];
  },
  fn: (b: BenchLab) => Promise<T>,
): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), `sesame-bench-${tool}-`));
  const lab = createLab({ clients: 2, name: 'bench' });
  let running: RunningTool | undefined;
  try {
    const [client, flooder] = lab.clients;
    const pool = ipv4Range(CLIENT_FIRST, Math.min(CLIENT_MAX, opts.clientAddresses));
    await addClientAddresses(lab, client, pool, CLIENT_PREFIX);
    for (const route of SPOOF_BLOCKS.flatMap((b) => b.routes)) await routeToClient(lab, route, flooder);
    await startEchoServer(lab, lab.server, [DOOR.open, OPEN_PORT]);
    running =
      tool === 'sesame'
        ? await startSesame(lab, dir, opts, opts.sesameBin, opts.sesameNodeFlags)
        : await startKnockd(lab, dir, opts);
    let next = 0;
    return await fn({
      lab,
      tool: running,
      client,
      flooder,
      target: lab.server.v4,
      addresses(n) {
        if (next + n > pool.length)
          throw new Error(`bench lab has ${pool.length} client addresses, asked for ${next + n}`);
        next += n;
        return pool.slice(next - n, next);
      },
    });
  } finally {
    running?.stop();
    lab.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
}

export { PING_PORT };
