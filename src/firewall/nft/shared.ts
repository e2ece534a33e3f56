import type { Family, Plan, SharedDoor } from '../../core/door.js';
import { tokenLogGroup } from '../../core/shared-secret.js';
import { type DoorNames, SEEN_MARK } from '../../core/kernel-names.js';
import type { NftFragment } from './fragment.js';
import { chainDecl, FAMILIES, familyName, grantAccept, iif, saddr, setDecl } from './syntax.js';

const MARK = `0x${SEEN_MARK.toString(16).padStart(8, '0')}`;

/**
 * How many token knocks the kernel hands to the daemon. Anyone who saw one token knows the
 * door's fixed prefix, so a global limit alone let one address use it up and lock everyone
 * out; per source (an IPv6 /64 counts as one) a client gets a few, and the global bound keeps
 * the daemon's work bounded against many sources. A real client sends one per connection.
 */
export const TOKEN_LOG_RATE = { perSource: '2/second burst 10 packets', total: '1000/second burst 2000 packets' };
/** How long a quiet source's meter is kept (longer than its burst takes to refill). */
const TOKEN_RATE_TIMEOUT_MS = 60_000;

/** The kernel compares at most 16 bytes per payload expression. */
const CHUNK_BYTES = 16;

/**
 * Shared-port doors. The door's grant set doubles as its redirect set:
 *  1. knock: the first data packet of an established connection to `port` whose payload starts
 *     with the secret puts the source address in the grant set (timeout `for`) and is answered
 *     with a TCP reset, so the client knows to reconnect. Every connection's first data packet
 *     sets a conntrack mark bit, so a secret sent later in a connection is never looked at.
 *  2. redirect (nat prerouting): a new connection to `port` from an address in the set goes to
 *     `redirect_to`; `oneshot` deletes the address in the same rule (the next connection gets
 *     the site again), `window` leaves it until the timeout (the seed's behaviour).
 *  3. input: the redirected connection (originally to `port`, now to `redirect_to`) is let
 *     through; direct connections to `redirect_to` hit the door's protection rules.
 * Token doors log the prefixed packet to their own NFLOG group instead of adding the address;
 * the daemon verifies the token and adds the grant (sources/shared-token.ts).
 */
export function compileSharedDoor(door: SharedDoor, plan: Plan, names: DoorNames): Partial<NftFragment> {
  const s = door.shared;
  const on = `${iif(door)}tcp dport ${s.port} ct state established`;
  const unseen = `ct mark & ${MARK} == 0`;
  const mark = `ct mark set ct mark | ${MARK}`;
  const secret = payloadMatch(s.matchHex);
  const knock: string[] =
    s.secretKind === 'static'
      ? [
          `# the secret in the first data bytes: the address's next connection to ${s.port} goes to ${s.redirectTo}`,
          ...FAMILIES.map(
            (f) =>
              `${on} meta nfproto ${nfproto(f)} ${unseen} ${secret} ${mark} update @${names.grant(f)} { ${saddr(f)} } reject with tcp reset`,
          ),
        ]
      : [
          `# a token knock: the daemon checks the token (NFLOG group ${tokenLogGroup(door, plan)}) and adds the address;`,
          `# at most ${TOKEN_LOG_RATE.perSource} per address (IPv6: per /64) and ${TOKEN_LOG_RATE.total} in all are logged`,
          ...FAMILIES.map(
            (f) =>
              `${on} meta nfproto ${nfproto(f)} ${unseen} ${secret} update @${names.tokenRate(f)} { ${sourceKey(f)} limit rate ${TOKEN_LOG_RATE.perSource} } limit rate ${TOKEN_LOG_RATE.total} log group ${tokenLogGroup(door, plan)} prefix "${names.tokenLogPrefix}"`,
          ),
          `${on} ${unseen} ${secret} ${mark} reject with tcp reset`,
        ];
  const chain = [
    'type filter hook input priority filter - 6; policy accept;',
    ...knock,
    '# any other first data packet (a TLS ClientHello): mark the connection as looked at',
    `${on} ${unseen} @ih,0,8 & 0x80 == { 0, 128 } ${mark}`,
  ];

  const prerouting = FAMILIES.flatMap((f) => {
    const set = `@${names.grant(f)}`;
    const consume = s.mode === 'oneshot' ? ` delete ${set} { ${saddr(f)} }` : '';
    return [
      `# door ${door.name}, ${familyName(f)}: ${s.mode === 'oneshot' ? 'the next' : 'every'} new connection to ${s.port} from a knocker goes to ${s.redirectTo}`,
      `${iif(door)}${saddr(f)} ${set} tcp dport ${s.port}${consume} log group ${plan.nflogGroup} prefix "${names.logPrefix('open')}" redirect to :${s.redirectTo}`,
    ];
  });

  return {
    sets:
      s.secretKind === 'token'
        ? FAMILIES.map((f) => setDecl(names.tokenRate(f), f, TOKEN_RATE_TIMEOUT_MS, plan.setSize))
        : [],
    chains: [chainDecl(names.sharedChain, chain)],
    input: [
      `# door ${door.name}: connections redirected from ${s.port}; direct ones to ${s.redirectTo} stay closed`,
      `${iif(door)}tcp dport ${s.redirectTo} ct original proto-dst ${s.port} ct status dnat ${grantAccept(plan)}`,
    ],
    prerouting,
  };
}

const nfproto = (f: Family) => (f === 4 ? 'ipv4' : 'ipv6');
/** The rate meter's key: the address, or its /64 for IPv6 (one site holds a whole /64). */
const sourceKey = (f: Family) => (f === 4 ? 'ip saddr' : 'ip6 saddr & ffff:ffff:ffff:ffff::');

/** `@ih,0,128 0x... @ih,128,64 0x...`: the bytes at the start of the TCP payload. */
export function payloadMatch(hex: string): string {
  const parts: string[] = [];
  for (let at = 0; at < hex.length; at += CHUNK_BYTES * 2) {
    const chunk = hex.slice(at, at + CHUNK_BYTES * 2);
    parts.push(`@ih,${at * 4},${chunk.length * 4} 0x${chunk}`);
  }
  return parts.join(' ');
}
