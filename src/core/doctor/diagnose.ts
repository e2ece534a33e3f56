import type { Door, Family, Plan, PortSpec, Proto } from '../door.js';
import { formatPort } from '../door.js';
import { fleetLinkWarnings } from '../fleet-settings.js';
import type { SaveTable } from './iptables-walk.js';
import { iptablesOutcomes } from './iptables-walk.js';
import { type NftRuleset, nftDrops, nftRedirects, xtTables } from './nft-walk.js';
import type { ChainOutcome, Probe } from './packet.js';

/** What `sesame doctor` read from the host (cli/commands/doctor.ts reads it; this file judges it). */
export interface HostFacts {
  /** The config's doors; null when there is no config to read (then door checks are skipped). */
  readonly plan: Plan | null;
  readonly nft: NftRuleset | null;
  /** `iptables-legacy-save` / `ip6tables-legacy-save`, parsed; empty when legacy has no rules. */
  readonly legacy4: readonly SaveTable[];
  readonly legacy6: readonly SaveTable[];
  /**
   * `iptables-nft-save` / `ip6tables-nft-save`, parsed, when the nft ruleset holds xt matches it
   * shows without their options (see nft-walk.ts xtTables); those tables are walked from here.
   */
  readonly xtables4: readonly SaveTable[];
  readonly xtables6: readonly SaveTable[];
  /** Listening sockets: `tcp` listeners and bound `udp` sockets. */
  readonly listeners: readonly { readonly proto: Proto; readonly port: number }[];
  /** sysctl values by name (`net.ipv4.conf.all.rp_filter`); absent when unreadable. */
  readonly sysctl: Readonly<Record<string, string | undefined>>;
  /** NFLOG groups bound on this host, with the holder's command line when known. */
  readonly nflogGroups: readonly { readonly group: number; readonly holder?: string }[];
  readonly stateDir: {
    readonly path: string;
    readonly exists: boolean;
    readonly writable: boolean;
    readonly mode?: number;
  };
  /** Secret files the config names, with their mode and owner. */
  readonly secrets: readonly {
    readonly path: string;
    readonly what: string;
    readonly mode: number;
    readonly uid: number;
  }[];
}

export interface Finding {
  /** problem: makes doctor exit 1; note: worth knowing, not wrong. */
  readonly severity: 'problem' | 'note';
  readonly text: string;
  readonly fix: string;
}

/** Ports a door keeps closed for everyone who hasn't knocked. */
export function protectedPorts(door: Door): PortSpec[] {
  if (door.kind === 'shared') return [{ port: door.shared.redirectTo, proto: 'tcp' }];
  return [...door.open];
}

/** All findings, problems first. Pure. */
export function diagnose(f: HostFacts): Finding[] {
  const out = [
    ...firewallFindings(f),
    ...listenerFindings(f),
    ...sysctlFindings(f),
    ...nflogFindings(f),
    ...fileFindings(f),
    ...fleetFindings(f),
    ...doorNotes(f),
    ...configWarnings(f),
  ];
  return [...out.filter((x) => x.severity === 'problem'), ...out.filter((x) => x.severity === 'note')];
}

/** Other firewalls that drop or redirect a door's port: what `serve` also warns about at start. */
export function firewallFindings(
  f: Pick<HostFacts, 'plan' | 'nft' | 'legacy4' | 'legacy6' | 'xtables4' | 'xtables6'>,
): Finding[] {
  if (!f.plan) return [];
  const plan = f.plan;
  const seen = new Map<string, { o: ChainOutcome; doors: Set<string>; spec: PortSpec; families: Set<Family> }>();
  const xt = (family: Family) => (family === 4 ? f.xtables4 : f.xtables6);
  const skip = f.nft && (f.xtables4.length || f.xtables6.length) ? xtTables(f.nft) : new Set<string>();
  for (const door of plan.doors) {
    for (const spec of protectedPorts(door)) {
      for (const family of [4, 6] as const) {
        // a grant holder's packet: it carries grant_mark, which a kept firewall may accept
        const probe: Probe = { family, proto: spec.proto, port: spec.port, mark: plan.grantMark ?? 0 };
        const outcomes = [
          ...(f.nft ? [...nftDrops(f.nft, probe, skip), ...nftRedirects(f.nft, probe, skip)] : []),
          ...iptablesOutcomes(xt(family), probe, 'iptables-nft'),
          ...iptablesOutcomes(family === 4 ? f.legacy4 : f.legacy6, probe),
        ];
        for (const o of outcomes) {
          const k = `${o.chain}|${o.by}|${formatPort(spec)}|${o.verdict}`;
          const had = seen.get(k);
          if (had) {
            had.families.add(family);
            had.doors.add(door.name);
          } else seen.set(k, { o, doors: new Set([door.name]), spec, families: new Set([family]) });
        }
      }
    }
  }
  return [...seen.values()].map(({ o, doors, spec, families }) => {
    const port = formatPort(spec);
    const fam = families.size === 2 ? 'IPv4 and IPv6' : `IPv${[...families][0]}`;
    const door = [...doors].join('" and door "');
    if (o.verdict === 'dnat')
      return {
        severity: 'problem' as const,
        text: `${o.chain} redirects new ${port} connections (${fam}; ${o.by}): they are forwarded past sesame's input chain, so door "${door}" doesn't hide port ${spec.port}: it is open to everyone.`,
        fix:
          o.tool === 'docker'
            ? `publish the container on 127.0.0.1 only (docker run -p 127.0.0.1:${spec.port}:...) and reach it through this host, or filter it in the DOCKER-USER chain; sesame guards this host's own ports.`
            : `remove that redirect, or protect the port it leads to instead.`,
      };
    return {
      severity: 'problem' as const,
      text: `${o.chain} drops new ${port} connections (${fam}; ${o.by}). A drop in any table is final, so door "${door}" can't open port ${spec.port}: a knock opens nothing.`,
      fix: `${allowFix(o, spec)} (sesame's own table keeps the port closed for everyone who hasn't knocked); or, to keep that drop for everyone else, ${markFix(o, plan.grantMark)}.`,
    };
  });
}

/** The kept-firewall allowance: sesame marks grant holders' packets, the other firewall accepts the mark. */
function markFix(o: ChainOutcome, grantMark: number | undefined): string {
  const m = `0x${(grantMark ?? DEFAULT_GRANT_MARK).toString(16)}`;
  const set = grantMark ? '' : `set grant_mark: ${m} in sesame.yaml and `;
  if (!o.seesMark)
    return `move that drop to a chain on hook input with priority filter or later (this one runs before sesame's input chain, priority filter - 5, which marks grant holders' packets), then ${set}accept the mark there before the drop: meta mark and ${m} == ${m} accept`;
  if (o.tool === 'iptables' || o.tool === 'iptables-legacy' || o.tool === 'docker' || o.tool === 'ufw') {
    const tool = o.tool === 'iptables-legacy' ? 'iptables-legacy' : 'iptables';
    return `${set}accept that mark first: ${tool} -I INPUT -m mark --mark ${m}/${m} -j ACCEPT (and ip6tables)`;
  }
  const [, family, table, chain] = /^table (\S+) (\S+), chain (\S+)$/.exec(o.chain) ?? [];
  return `${set}accept that mark before the drop: nft insert rule ${family ?? 'inet'} ${table ?? 'TABLE'} ${chain ?? 'CHAIN'} meta mark and ${m} == ${m} accept`;
}

/** The mark doctor suggests when the config sets none (any bits unused on the host will do). */
const DEFAULT_GRANT_MARK = 0x10000000;

function allowFix(o: ChainOutcome, spec: PortSpec): string {
  const p = `${spec.port}/${spec.proto}`;
  switch (o.tool) {
    case 'firewalld':
      return `allow it in firewalld: firewall-cmd --permanent --add-port=${p} && firewall-cmd --reload`;
    case 'ufw':
      return `allow it in ufw: ufw allow ${p}`;
    case 'iptables-legacy':
      return `allow it: iptables-legacy -I INPUT -p ${spec.proto} --dport ${spec.port} -j ACCEPT (and ip6tables-legacy), or move these rules to nftables`;
    case 'iptables':
    case 'docker':
      return `allow it: iptables -I INPUT -p ${spec.proto} --dport ${spec.port} -j ACCEPT (and ip6tables), saved the way your rules are saved`;
    default: {
      const [, family, table, chain] = /^table (\S+) (\S+), chain (\S+)$/.exec(o.chain) ?? [];
      return `allow it before that drop: nft insert rule ${family} ${table} ${chain} ${spec.proto} dport ${spec.port} accept (and in the file your ruleset is loaded from)`;
    }
  }
}

function listenerFindings(f: HostFacts): Finding[] {
  if (!f.plan) return [];
  // one finding per port, naming every door that protects it
  const missing = new Map<string, { spec: PortSpec; doors: Door[] }>();
  for (const door of f.plan.doors) {
    for (const spec of protectedPorts(door)) {
      if (f.listeners.some((l) => l.proto === spec.proto && l.port === spec.port)) continue;
      const k = formatPort(spec);
      if (!missing.has(k)) missing.set(k, { spec, doors: [] });
      missing.get(k)!.doors.push(door);
    }
  }
  return [...missing.values()].map(({ spec, doors }) => ({
    severity: 'problem' as const,
    text: `${doors.map((d) => `door "${d.name}"`).join(' and ')} protect${doors.length === 1 ? 's' : ''} ${formatPort(spec)}, but nothing listens on port ${spec.port}: a knock would open a closed port.`,
    fix: `start the service that should listen there, or correct the ${doors.some((d) => d.kind === 'shared') ? 'redirect_to or open' : 'open'} ports.`,
  }));
}

function sysctlFindings(f: HostFacts): Finding[] {
  if (!f.plan || f.plan.doors.length === 0) return [];
  const out: Finding[] = [];
  // the kernel uses the larger of `all` and the interface's value; `default` seeds new interfaces
  const rp = Math.max(
    Number(f.sysctl['net.ipv4.conf.all.rp_filter'] ?? 0),
    Number(f.sysctl['net.ipv4.conf.default.rp_filter'] ?? 0),
  );
  if (f.sysctl['net.ipv4.conf.all.rp_filter'] !== undefined && rp === 0)
    out.push({
      severity: 'problem',
      text: "reverse path filtering is off (net.ipv4.conf.all.rp_filter and .default.rp_filter are 0): packets with forged source addresses reach the knock rules, so anyone can reset another address's knock progress or fill the knock sets.",
      fix: 'sysctl -w net.ipv4.conf.all.rp_filter=2 net.ipv4.conf.default.rp_filter=2 (1 = strict where routing is symmetric), and persist it in /etc/sysctl.d/90-sesame.conf.',
    });
  if (f.sysctl['net.ipv6.conf.all.disable_ipv6'] === '1')
    out.push({
      severity: 'note',
      text: 'IPv6 is disabled (net.ipv6.conf.all.disable_ipv6 = 1): the doors work for IPv4 clients only; an IPv6-only client can neither knock nor connect.',
      fix: 'nothing if this host has no IPv6; otherwise sysctl -w net.ipv6.conf.all.disable_ipv6=0.',
    });
  return out;
}

function nflogFindings(f: HostFacts): Finding[] {
  if (!f.plan) return [];
  const wanted = new Set([f.plan.nflogGroup]);
  const out: Finding[] = [];
  for (const g of f.nflogGroups) {
    if (!wanted.has(g.group) || (g.holder && /sesame/.test(g.holder))) continue;
    out.push({
      severity: 'problem',
      text: `NFLOG group ${g.group} is already bound${g.holder ? ` by "${g.holder}"` : ''}: sesame serve can't read its knocks and will refuse to start.`,
      fix: `set nflog_group: to a free group in sesame.yaml (e.g. ${g.group + 10}), or stop the program holding it (ulogd?).`,
    });
  }
  return out;
}

function fleetFindings(f: HostFacts): Finding[] {
  if (!f.plan?.fleet) return [];
  return fleetLinkWarnings(f.plan.fleet).map((text) => ({
    severity: 'note' as const,
    text,
    fix: text.includes('password')
      ? 'in redis.conf: requirepass <long random>; on every node: fleet.password_file naming a file with it (chmod 600)'
      : 'serve Redis with tls-port and certificates, and use rediss://HOST:PORT/DB with fleet.tls {ca, cert, key}',
  }));
}

/** What the config loads with but is weak (a log door's regex): each names its file:line. */
function configWarnings(f: HostFacts): Finding[] {
  return (f.plan?.warnings ?? []).map((text) => ({
    severity: 'note' as const,
    text,
    fix: /wildcard|before the address/.test(text)
      ? 'match the fields before the address exactly (quoted fields with "[^"]*", words with \\S+), or use a door that needs a secret (http, spa): a log line is only as trustworthy as its least trusted field (docs/threats.md)'
      : 'anchor the failregex with ^ and a fixed prefix up to <HOST> (docs/web.md)',
  }));
}

function fileFindings(f: HostFacts): Finding[] {
  const out: Finding[] = [];
  const s = f.stateDir;
  if (s.exists && !s.writable)
    out.push({
      severity: 'problem',
      text: `the state dir ${s.path} is not writable: pending stop commands and replay caches can't be kept, so a restart forgets them.`,
      fix: `chown root:root ${s.path} && chmod 700 ${s.path} (under systemd, StateDirectory=sesame makes it).`,
    });
  if (s.exists && s.mode !== undefined && (s.mode & 0o022) !== 0)
    out.push({
      severity: 'problem',
      text: `the state dir ${s.path} is writable by others (mode ${(s.mode & 0o777).toString(8)}): anyone who can write there can plant stop commands that run as root.`,
      fix: `chmod 700 ${s.path}`,
    });
  for (const file of f.secrets) {
    if ((file.mode & 0o077) === 0) continue;
    out.push({
      severity: 'problem',
      text: `${file.what} ${file.path} is readable by ${file.mode & 0o004 ? 'everyone' : 'its group'} (mode ${(file.mode & 0o777).toString(8)}): whoever reads it can open the door.`,
      fix: `chmod 600 ${file.path}${file.uid !== 0 ? ` && chown root ${file.path}` : ''}`,
    });
  }
  return out;
}

function doorNotes(f: HostFacts): Finding[] {
  if (!f.plan) return [];
  return f.plan.doors
    .filter((d) => d.kind === 'hits')
    .map((d) => {
      const h = (d as Extract<Door, { kind: 'hits' }>).hits;
      const [a, b] = h.windowMs.map((ms) => ms / 1000);
      return {
        severity: 'note' as const,
        text: `door "${d.name}" counts the client's own SYN retries on port ${h.port} (${h.count} hits, then a SYN ${a}-${b} s after the first). Linux >= 6.6 clients with tcp_syn_linear_timeouts retry at 0, 1, 2, 3 s; older kernels and other systems at 0, 1, 3, 7 s: both land in the window. A client whose first retry comes later (a 3 s initial RTO) never does.`,
        fix: `for such clients use hits: {port: ${h.port}, count: 1, window: [2s, 5s]}; keep reply: drop (a reset makes the client give up).`,
      };
    });
}
