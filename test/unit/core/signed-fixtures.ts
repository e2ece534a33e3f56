import type { SpaDoor } from '../../../src/core/door.js';

/** An spa door that takes signed packets only (no fwknop keys), tcp/22. */
export function signedDoor(name = 'ssh', over: Partial<SpaDoor['spa']> = {}): SpaDoor {
  return {
    kind: 'spa',
    name,
    open: [{ proto: 'tcp', port: 22 }],
    forMs: 30_000,
    reply: 'drop',
    spa: {
      sources: null,
      destinations: null,
      key: null,
      openPorts: [{ proto: 'tcp', port: 22 }],
      restrictPorts: [],
      maxTimeoutMs: 300_000,
      requireSource: true,
      usernames: null,
      expiresAtMs: null,
      maxAgeMs: 120_000,
      origin: `door ${name}`,
      ...over,
    },
  } as unknown as SpaDoor;
}
