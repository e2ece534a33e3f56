// Over 300 lines on purpose: fwknopd's access.conf reader, every directive's meaning next to
// the others as fwknopd's access.c has them (the plan it becomes is in fwknop-plan.ts).
import { isIP } from 'node:net';
import type { PortSpec, Proto, SpaDoor } from '../core/door.js';
import { b64Decode } from '../core/spa/base64.js';
import { MAX_KEY_BYTES } from '../core/spa/cipher.js';
import { type DigestType, parseDigestType } from '../core/spa/digest.js';
import type { CmdCycle } from '../core/spa/cmd-cycle.js';
import { SPA_DEFAULTS } from '../core/spa/policy.js';
import { ConfigError, type ConfigProblem } from './config-error.js';

/**
 * fwknopd's access.conf, read unchanged (server/access.c parse_access_file): `KEY value`
 * lines (an optional `:` after the key), `#` comments, stanzas that each start with SOURCE.
 * Every stanza becomes one `spa` door (`fwknop1`, `fwknop2`, ...), tried in file order.
 * A key sesame does not implement is an error at its line, never silently ignored.
 */

/** Keys sesame reads, with what they mean there (the support table in docs/spa.md is generated from the same words). */
export const SUPPORTED_ACCESS_KEYS = [
  'SOURCE',
  'DESTINATION',
  'OPEN_PORTS',
  'RESTRICT_PORTS',
  'KEY',
  'KEY_BASE64',
  'HMAC_KEY',
  'HMAC_KEY_BASE64',
  'HMAC_DIGEST_TYPE',
  'ENCRYPTION_MODE',
  'FW_ACCESS_TIMEOUT',
  'MAX_FW_TIMEOUT',
  'REQUIRE_SOURCE_ADDRESS',
  'REQUIRE_SOURCE',
  'REQUIRE_USERNAME',
  'ACCESS_EXPIRE',
  'ACCESS_EXPIRE_EPOCH',
  'CMD_CYCLE_OPEN',
  'CMD_CYCLE_CLOSE',
  'CMD_CYCLE_TIMER',
] as const;

/** fwknopd keys sesame refuses, and why (so the error can say what to do instead). */
const UNSUPPORTED: Record<string, string> = {
  GPG: 'GnuPG-encrypted SPA is not supported; use KEY_BASE64 + HMAC_KEY_BASE64 (fwknop --key-gen)',
  CMD:
    'SPA command messages (fwknop --server-cmd) run whatever command the packet names, as root or CMD_EXEC_USER; ' +
    'sesame does not run commands a client chooses. Use CMD_CYCLE_OPEN/CMD_CYCLE_CLOSE (commands fixed in the stanza) instead',
  ENABLE_CMD_EXEC:
    'SPA command messages run whatever command the packet names; sesame does not run commands a client chooses (CMD_CYCLE_OPEN/CLOSE are supported)',
  ENABLE_CMD_SUDO_EXEC:
    'SPA command messages run whatever command the packet names; sesame does not run commands a client chooses (CMD_CYCLE_OPEN/CLOSE are supported)',
  FORCE_NAT: 'NAT access (FORCE_NAT, FORCE_SNAT, FORCE_MASQUERADE, FORWARD_ALL) is not supported',
  FORCE_SNAT: 'NAT access is not supported',
  FORCE_MASQUERADE: 'NAT access is not supported',
  FORWARD_ALL: 'NAT access is not supported',
  DISABLE_DNAT: 'NAT access is not supported',
  '%include': '%include is not supported; put the stanzas in one file',
  '%include_folder': '%include_folder is not supported; put the stanzas in one file',
  '%include_keys': '%include_keys is not supported; write the keys in the stanza',
};

const PLACEHOLDER = '__CHANGEME__';
/** fwknopd's CMD_CYCLE_BUFSIZE. */
const CMD_CYCLE_BUFSIZE = 256;
const MAX_HMAC_KEY_BYTES = 128;
/** fwknopd's RCHK_MAX_FW_TIMEOUT. */
const MAX_TIMEOUT_S = 2 << 22;

interface RawStanza {
  readonly line: number;
  readonly values: Map<string, { value: string; line: number }>;
}

export interface FwknopAccessOptions {
  /** MAX_SPA_PACKET_AGE from fwknopd.conf; default 120 s. */
  readonly maxAgeMs?: number;
  /** Interface every door matches on (fwknopd's PCAP_INTF); default all. */
  readonly interface?: string;
  /** Door names are `<prefix><n>`; default `fwknop`. */
  readonly namePrefix?: string;
  /**
   * `serve --hide PORTS`: the ports sesame hides for stanzas without OPEN_PORTS (fwknopd grants
   * any port such a packet asks for; sesame still has to know which ones to keep closed).
   */
  readonly hide?: readonly PortSpec[];
}

/** Parses an access.conf text into SPA doors. Throws ConfigError listing every problem (file:line). */
export function parseFwknopAccess(text: string, file = 'access.conf', opts: FwknopAccessOptions = {}): SpaDoor[] {
  const problems: ConfigProblem[] = [];
  const problem = (line: number, field: string, message: string) =>
    problems.push({ file, line, column: 1, field, message });

  const stanzas: RawStanza[] = [];
  const lines = text.split(/\r?\n/);
  lines.forEach((raw, i) => {
    const n = i + 1;
    const trimmed = raw.trim();
    if (trimmed === '' || trimmed.startsWith('#') || trimmed.startsWith(';')) return;
    // "VAR[:] value" up to a ';' (fwknopd's sscanf "%s %[^;\n\r]"); trailing blanks dropped
    const m = /^(\S+)\s+([^;]*)/.exec(trimmed);
    if (!m || m[2].trim() === '') {
      problem(n, trimmed.split(/\s/)[0], 'expected "KEY value"');
      return;
    }
    const key = m[1].replace(/:$/, '');
    const value = m[2].trim();
    const upper = key.toUpperCase();
    const why =
      UNSUPPORTED[key] ??
      UNSUPPORTED[upper] ??
      (upper.startsWith('GPG_')
        ? UNSUPPORTED.GPG
        : upper.startsWith('CMD_') && !upper.startsWith('CMD_CYCLE_')
          ? UNSUPPORTED.CMD
          : undefined);
    if (why) {
      problem(n, key, `not supported by sesame: ${why}`);
      return;
    }
    if (!(SUPPORTED_ACCESS_KEYS as readonly string[]).includes(upper)) {
      problem(n, key, `unknown access.conf key; sesame reads ${SUPPORTED_ACCESS_KEYS.join(', ')}`);
      return;
    }
    if (upper === 'SOURCE') {
      stanzas.push({ line: n, values: new Map([[upper, { value, line: n }]]) });
      return;
    }
    const current = stanzas[stanzas.length - 1];
    if (!current) {
      problem(n, key, 'comes before the first SOURCE line; every stanza starts with SOURCE');
      return;
    }
    if (current.values.has(upper)) {
      problem(n, key, `set twice in the stanza starting at line ${current.line}`);
      return;
    }
    current.values.set(upper, { value, line: n });
  });
  if (stanzas.length === 0 && problems.length === 0) problem(0, '', 'no SOURCE stanza; nothing to open');

  const prefix = opts.namePrefix ?? 'fwknop';
  const built = stanzas.map((s, i) => buildDoor(s, `${prefix}${i + 1}`, file, opts, problem));
  const doors = hideAnyPortStanzas(built, stanzas, opts.hide, problem);
  if (problems.length > 0) throw new ConfigError(problems);
  return doors as SpaDoor[];
}

/**
 * A stanza without OPEN_PORTS grants whatever port a packet asks for (minus RESTRICT_PORTS),
 * as in fwknopd, whose own firewall policy kept those ports closed. sesame is that policy
 * here, so it hides `--hide PORTS` when given, else the ports the file's other stanzas open;
 * with neither it can't know, and refuses the stanza instead of a door that hides nothing.
 */
function hideAnyPortStanzas(
  doors: (SpaDoor | null)[],
  stanzas: readonly RawStanza[],
  hide: readonly PortSpec[] | undefined,
  problem: Problem,
): (SpaDoor | null)[] {
  const seen = new Set<string>();
  const others: PortSpec[] = [];
  for (const d of doors)
    for (const p of d?.spa.openPorts ?? [])
      if (!seen.has(`${p.proto}/${p.port}`)) seen.add(`${p.proto}/${p.port}`) && others.push(p);
  const ports = hide && hide.length > 0 ? hide : others;
  return doors.map((d, i) => {
    if (!d || d.spa.openPorts || d.spa.commands) return d;
    if (ports.length === 0) {
      problem(
        stanzas[i].line,
        'SOURCE',
        'stanza has no OPEN_PORTS: fwknopd grants any port a packet asks for and leaves hiding them to its firewall, ' +
          'so sesame must be told which ports to hide: add OPEN_PORTS (e.g. tcp/22) to the stanza, ' +
          'or run serve --hide tcp/22 (sesame.yaml: `hide: [22]`)',
      );
      return null;
    }
    return { ...d, open: ports };
  });
}

type Problem = (line: number, field: string, message: string) => void;

function buildDoor(
  s: RawStanza,
  name: string,
  file: string,
  opts: FwknopAccessOptions,
  problem: Problem,
): SpaDoor | null {
  const get = (k: string) => s.values.get(k);
  let ok = true;
  const bad = (k: string, message: string) => {
    ok = false;
    problem(get(k)?.line ?? s.line, k, message);
  };

  const sources = addressList(get('SOURCE')?.value ?? '', true);
  if (typeof sources === 'string' && sources !== 'any') bad('SOURCE', sources);
  const dest = get('DESTINATION');
  const destinations = dest ? addressList(dest.value, true) : null;
  if (typeof destinations === 'string' && destinations !== 'any') bad('DESTINATION', destinations);

  const open = get('OPEN_PORTS');
  const openPorts = open ? portList(open.value, true) : null;
  if (typeof openPorts === 'string') bad('OPEN_PORTS', openPorts);
  const restrict = get('RESTRICT_PORTS');
  const restrictPorts = restrict ? portList(restrict.value, true) : [];
  if (typeof restrictPorts === 'string') bad('RESTRICT_PORTS', restrictPorts);

  const key = secret(s, 'KEY', MAX_KEY_BYTES, bad);
  const hmacKey = secret(s, 'HMAC_KEY', MAX_HMAC_KEY_BYTES, bad);
  if (!get('KEY') && !get('KEY_BASE64'))
    bad('SOURCE', `stanza has no KEY or KEY_BASE64 (sesame supports Rijndael keys only)`);
  if (!get('HMAC_KEY') && !get('HMAC_KEY_BASE64'))
    bad(
      'SOURCE',
      'stanza has no HMAC_KEY or HMAC_KEY_BASE64; sesame requires HMAC-authenticated packets (fwknop --key-gen makes both)',
    );
  if (key && hmacKey && Buffer.compare(key, hmacKey) === 0)
    bad(get('HMAC_KEY_BASE64') ? 'HMAC_KEY_BASE64' : 'HMAC_KEY', 'the HMAC key must differ from the encryption key');

  let hmacType: DigestType = 'sha256';
  const ht = get('HMAC_DIGEST_TYPE');
  if (ht) {
    const t = parseDigestType(ht.value);
    if (t) hmacType = t;
    else bad('HMAC_DIGEST_TYPE', `"${ht.value}" is not one of MD5, SHA1, SHA256, SHA384, SHA512, SHA3_256, SHA3_512`);
  }
  let legacy = false;
  const mode = get('ENCRYPTION_MODE');
  if (mode) {
    const v = mode.value.toLowerCase();
    if (v === 'legacy') legacy = true;
    else if (v !== 'cbc')
      bad('ENCRYPTION_MODE', `"${mode.value}" is not supported; sesame reads CBC (the default) and legacy`);
  }

  const forS = seconds(s, 'FW_ACCESS_TIMEOUT', SPA_DEFAULTS.forMs / 1000, bad);
  const maxS = seconds(s, 'MAX_FW_TIMEOUT', SPA_DEFAULTS.maxTimeoutMs / 1000, bad);
  const requireSource = yesNo(s, get('REQUIRE_SOURCE_ADDRESS') ? 'REQUIRE_SOURCE_ADDRESS' : 'REQUIRE_SOURCE', bad);
  const user = get('REQUIRE_USERNAME');
  const usernames = user ? [user.value] : null;
  const expiresAtMs = expiry(s, bad);
  const commands = cmdCycle(s, bad);
  const timerS = commands ? seconds(s, 'CMD_CYCLE_TIMER', 0, bad) : 0;
  if (commands?.close && timerS === 0)
    bad('CMD_CYCLE_OPEN', 'needs CMD_CYCLE_TIMER (seconds until CMD_CYCLE_CLOSE runs), as in fwknopd');

  if (!ok) return null;
  const policy = {
    sources: sources === 'any' ? null : (sources as string[]),
    destinations: destinations === 'any' ? null : (destinations as string[] | null),
    key: { key: key as Buffer, hmacKey: hmacKey as Buffer, hmacType, legacy },
    openPorts: openPorts as PortSpec[] | null,
    restrictPorts: restrictPorts as PortSpec[],
    maxTimeoutMs: maxS * 1000,
    requireSource,
    usernames,
    expiresAtMs,
    maxAgeMs: opts.maxAgeMs ?? SPA_DEFAULTS.maxAgeMs,
    origin: `${file}:${s.line}`,
    ...(commands ? { commands } : {}),
  };
  return {
    kind: 'spa',
    name,
    // a CMD_CYCLE stanza gets no firewall rule from fwknopd: its commands open and close
    open: commands ? [] : ((openPorts as PortSpec[] | null) ?? []),
    // fwknopd's default grant is 30 s; FW_ACCESS_TIMEOUT 0 means "the default" there too.
    // A command cycle's grant is its timer: CMD_CYCLE_CLOSE runs when it ends
    forMs: (timerS || forS || SPA_DEFAULTS.forMs / 1000) * 1000,
    reply: 'drop',
    interface: opts.interface,
    spa: policy,
  };
}

/** `ANY`, or addresses/CIDRs separated by commas; a netmask may be dotted (`/255.255.255.0`). */
export function addressList(value: string, allowAny: boolean): string[] | 'any' | string {
  if (allowAny && /^any$/i.test(value.trim())) return 'any';
  const out: string[] = [];
  for (const raw of value.split(',').map((v) => v.trim())) {
    if (raw === '') return `empty entry in "${value}"`;
    if (/^any$/i.test(raw)) return 'ANY must stand alone';
    const [addr, mask, extra] = raw.split('/');
    const family = isIP(addr);
    if (family === 0 || extra !== undefined) return `"${raw}" is not an address or CIDR`;
    if (mask === undefined) {
      out.push(addr);
      continue;
    }
    let bits: number;
    if (/^\d{1,3}$/.test(mask)) bits = Number(mask);
    else if (family === 4 && isIP(mask) === 4) {
      const n = mask.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
      bits = 32 - Math.log2(2 ** 32 - n);
      if (!Number.isInteger(bits)) return `netmask ${mask} is not contiguous`;
    } else return `"${raw}": bad prefix length`;
    if (bits > (family === 4 ? 32 : 128)) return `"${raw}": prefix longer than the address`;
    out.push(`${addr}/${bits}`);
  }
  return out;
}

/**
 * `tcp/22, udp/53` → ports; fwknop's icmp/none entries are refused (sesame opens tcp and udp
 * ports). `asFwknopd`: `tcp/8000-8010` is tcp/8000, as fwknopd's strtol reads it (it has no ranges).
 */
export function portList(value: string, asFwknopd = false): PortSpec[] | string {
  const out: PortSpec[] = [];
  for (const raw of value.split(',').map((v) => v.trim())) {
    const m = (asFwknopd ? /^(tcp|udp)\/(\d{1,5})(?:-\d{1,5})?$/i : /^(tcp|udp)\/(\d{1,5})$/i).exec(raw);
    if (!m) return `"${raw}" is not proto/port like tcp/22 or udp/53`;
    const port = Number(m[2]);
    if (port < 1 || port > 65535) return `port ${port} out of range 1..65535`;
    out.push({ proto: m[1].toLowerCase() as Proto, port });
  }
  return out;
}

/** `serve --hide 22,tcp/443,udp/51820`: a bare port is tcp. */
export function hidePorts(value: string): PortSpec[] | string {
  return portList(
    value
      .split(',')
      .map((v) => v.trim())
      .map((v) => (/^\d+$/.test(v) ? `tcp/${v}` : v))
      .join(','),
  );
}

function secret(
  s: RawStanza,
  base: 'KEY' | 'HMAC_KEY',
  max: number,
  bad: (k: string, m: string) => void,
): Buffer | null {
  const plain = s.values.get(base);
  const b64 = s.values.get(`${base}_BASE64`);
  if (plain && b64) {
    bad(`${base}_BASE64`, `set both ${base} and ${base}_BASE64; keep one`);
    return null;
  }
  const entry = plain ?? b64;
  if (!entry) return null;
  const field = plain ? base : `${base}_BASE64`;
  if (entry.value === PLACEHOLDER) {
    bad(field, `still ${PLACEHOLDER}; generate keys with \`sesame token --spa-keys\` or \`fwknop --key-gen\``);
    return null;
  }
  const bytes = plain ? Buffer.from(entry.value, 'latin1') : b64Decode(entry.value.replace(/=+$/, ''));
  if (!bytes || bytes.length === 0) {
    bad(field, 'is not base64');
    return null;
  }
  if (bytes.length > max) {
    bad(field, `is ${bytes.length} bytes; fwknop keys are at most ${max}`);
    return null;
  }
  return bytes;
}

function seconds(s: RawStanza, k: string, dflt: number, bad: (k: string, m: string) => void): number {
  const e = s.values.get(k);
  if (!e) return dflt;
  if (!/^\d{1,8}$/.test(e.value) || Number(e.value) > MAX_TIMEOUT_S) {
    bad(k, `"${e.value}" is not a number of seconds (0..${MAX_TIMEOUT_S})`);
    return dflt;
  }
  return Number(e.value);
}

/** fwknopd reads Y/N; sesame also takes yes/no and refuses anything else instead of reading it as N. */
function yesNo(s: RawStanza, k: string, bad: (k: string, m: string) => void): boolean {
  const e = s.values.get(k);
  if (!e) return false;
  if (/^(y|yes)$/i.test(e.value)) return true;
  if (/^(n|no)$/i.test(e.value)) return false;
  bad(k, `"${e.value}" is not Y or N`);
  return false;
}

/** CMD_CYCLE_OPEN with CMD_CYCLE_CLOSE (`NONE`: nothing runs at the end), checked as fwknopd's acc_data_is_valid. */
function cmdCycle(s: RawStanza, bad: (k: string, m: string) => void): CmdCycle | null {
  const open = s.values.get('CMD_CYCLE_OPEN');
  const close = s.values.get('CMD_CYCLE_CLOSE');
  if (!open && !close) {
    if (s.values.has('CMD_CYCLE_TIMER')) bad('CMD_CYCLE_TIMER', 'set without CMD_CYCLE_OPEN and CMD_CYCLE_CLOSE');
    return null;
  }
  if (!open || !close) {
    bad(
      open ? 'CMD_CYCLE_OPEN' : 'CMD_CYCLE_CLOSE',
      'CMD_CYCLE_OPEN and CMD_CYCLE_CLOSE go together (CMD_CYCLE_CLOSE NONE runs nothing)',
    );
    return null;
  }
  for (const e of [open, close])
    if (e.value.length >= CMD_CYCLE_BUFSIZE) {
      bad(
        e === open ? 'CMD_CYCLE_OPEN' : 'CMD_CYCLE_CLOSE',
        `longer than fwknopd's ${CMD_CYCLE_BUFSIZE - 1} characters`,
      );
      return null;
    }
  return { open: open.value, close: close.value.startsWith('NONE') ? null : close.value };
}

/** ACCESS_EXPIRE MM/DD/YYYY (local midnight, as fwknopd's mktime) or ACCESS_EXPIRE_EPOCH seconds. */
function expiry(s: RawStanza, bad: (k: string, m: string) => void): number | null {
  const date = s.values.get('ACCESS_EXPIRE');
  const epoch = s.values.get('ACCESS_EXPIRE_EPOCH');
  if (date && epoch) {
    bad('ACCESS_EXPIRE_EPOCH', 'set both ACCESS_EXPIRE and ACCESS_EXPIRE_EPOCH; keep one');
    return null;
  }
  if (date) {
    // fwknopd's sscanf("%2d/%2d/%4d"): a 2-digit year is 20YY (its tm_year += 100)
    const m = /^(\d{1,2})\/(\d{1,2})\/(\d{2}|\d{4})$/.exec(date.value);
    const year = m ? (m[3].length === 2 ? 2000 + Number(m[3]) : Number(m[3])) : 0;
    const d = m && new Date(year, Number(m[1]) - 1, Number(m[2]));
    if (!m || !d || d.getMonth() !== Number(m[1]) - 1 || d.getDate() !== Number(m[2])) {
      bad('ACCESS_EXPIRE', `"${date.value}" is not a date MM/DD/YYYY (or MM/DD/YY)`);
      return null;
    }
    return d.getTime();
  }
  if (epoch) {
    if (!/^\d{1,12}$/.test(epoch.value)) {
      bad('ACCESS_EXPIRE_EPOCH', `"${epoch.value}" is not unix seconds`);
      return null;
    }
    return Number(epoch.value) * 1000;
  }
  return null;
}
