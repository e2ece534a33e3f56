import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Another node as this one last saw it. */
export interface NodeSeen {
  readonly name: string;
  /** Its last heartbeat (this node's clock). */
  readonly lastHeartbeat: string;
  readonly published: number;
  readonly received: number;
}

/** What `sesame status` shows about the fleet. */
export interface FleetStatus {
  readonly cluster: string;
  readonly node: string;
  readonly redis: string;
  readonly connected: boolean;
  /** When the connection was last made or lost. */
  readonly since: string | null;
  readonly clockOffsetMs: number;
  /** Another node beats under this node's name. */
  readonly duplicateName?: boolean;
  /** The offset is beyond `clock_offset_max`: every fleet message is refused. */
  readonly clockRefused?: boolean;
  readonly nodes: readonly NodeSeen[];
  readonly grantsPublished: number;
  readonly grantsReceived: number;
  readonly revocationsReceived: number;
  readonly dropped: number;
  /** Grants and revocations waiting for Redis. */
  readonly pending: number;
  readonly replayFallbacks: number;
  /** When the daemon wrote this; an old time means the daemon is not running. */
  readonly updated: string;
}

/** `<state-dir>/fleet.json`: the daemon writes it after each heartbeat, `sesame status` reads it. */
export const fleetStatusFile = (stateDir: string) => join(stateDir, 'fleet.json');

export function writeFleetStatus(stateDir: string, status: FleetStatus): void {
  const file = fleetStatusFile(stateDir);
  writeFileSync(`${file}.tmp`, `${JSON.stringify(status, null, 2)}\n`, { mode: 0o600 });
  renameSync(`${file}.tmp`, file);
}

/** The last status written, or null when this node runs no fleet (no file). */
export function readFleetStatus(stateDir: string): FleetStatus | null {
  let text: string;
  try {
    text = readFileSync(fleetStatusFile(stateDir), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  return JSON.parse(text) as FleetStatus;
}

/** Text lines for `sesame status`. */
export function formatFleetStatus(s: FleetStatus, nowMs = Date.now()): string[] {
  const age = Math.round((nowMs - Date.parse(s.updated)) / 1000);
  const lines = [
    `fleet: ${s.cluster} as node ${s.node}, redis ${s.redis} ${s.connected ? 'connected' : 'NOT connected'}${s.since ? ` since ${s.since}` : ''}${age > 10 ? ` (as of ${age}s ago: is sesame serve running?)` : ''}`,
    ...(s.duplicateName
      ? [`  DUPLICATE: another node beats under the name ${s.node}; give each node its own fleet.node`]
      : []),
    ...(s.clockRefused
      ? [
          `  CLOCK: redis TIME is ${s.clockOffsetMs} ms from this node's clock, beyond clock_offset_max: fleet messages are refused`,
        ]
      : []),
    `  grants published ${s.grantsPublished}, received ${s.grantsReceived}, revocations received ${s.revocationsReceived}, dropped ${s.dropped}, waiting for redis ${s.pending}`,
  ];
  if (s.nodes.length === 0) lines.push('  nodes seen: none');
  else {
    lines.push('  nodes seen:');
    for (const n of s.nodes) {
      const ago = Math.round((nowMs - Date.parse(n.lastHeartbeat)) / 1000);
      lines.push(
        `    ${n.name.padEnd(20)} last heartbeat ${ago}s ago, published ${n.published}, received ${n.received}`,
      );
    }
  }
  return lines;
}
