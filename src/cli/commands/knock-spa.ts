import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { homedir, userInfo } from 'node:os';
import { join } from 'node:path';
import { fwknopRcStanza, FwknopRcError, type FwknopRc } from '../../client/fwknoprc.js';
import { DEFAULT_PORT, resolveHost, sendSpa, sourceAddressFor, type SpaProto } from '../../client/spa-knock.js';
import { b64Decode } from '../../core/spa/base64.js';
import { type DigestType, parseDigestType } from '../../core/spa/digest.js';
import { formatSpaKeys, parseSpaKeys } from '../../core/spa/key-text.js';
import { parseAccessMessage, type SpaAccess } from '../../core/spa/message.js';
import { makeSpaPacket, type SpaKey } from '../../core/spa/packet.js';
import { CliError } from '../cli-error.js';

export interface SpaKnockOptions {
  access?: string;
  allowIp?: string;
  sourceIp?: boolean;
  fwTimeout?: number;
  spaProto?: string;
  serverPort?: number;
  keys?: string;
  keyBase64Rijndael?: string;
  keyBase64Hmac?: string;
  hmacDigestType?: string;
  named?: string;
  rcFile?: string;
  spoofUser?: string;
  savePacket?: string;
  ipv4?: boolean;
  ipv6?: boolean;
  verbose?: boolean;
}

const usage = (m: string) => new CliError('E_USAGE', m, 2);

/**
 * `sesame knock --spa HOST -A tcp/22`: an fwknop-compatible SPA packet, accepted by sesame's
 * spa doors and by the stock fwknopd. Keys from `--keys FILE` (what `sesame token --spa-keys`
 * or `fwknop --key-gen` print), fwknop's `--key-base64-*` flags, or a `~/.fwknoprc` stanza (`-n`).
 */
export async function spaKnockCommand(hostArg: string | undefined, o: SpaKnockOptions): Promise<string> {
  const rc = o.named ? readRc(o.rcFile ?? join(homedir(), '.fwknoprc'), o.named) : {};
  const host = hostArg ?? rc.SPA_SERVER;
  if (!host) throw usage('which server? `sesame knock --spa HOST -A tcp/22` (or SPA_SERVER in the -n stanza)');
  const access = parsePorts(o.access ?? rc.ACCESS);
  const key = keysFrom(o, rc);
  const proto = (o.spaProto ?? rc.SPA_SERVER_PROTO ?? 'udp').toLowerCase();
  if (proto !== 'udp' && proto !== 'tcp' && proto !== 'http') throw usage(`-P ${proto}: expected udp, tcp or http`);
  const port = o.serverPort ?? (rc.SPA_SERVER_PORT ? Number(rc.SPA_SERVER_PORT) : DEFAULT_PORT[proto as SpaProto]);
  if (o.ipv4 && o.ipv6) throw usage('-4 and -6 exclude each other');
  const target = await resolveHost(host, o.ipv4 ? 4 : o.ipv6 ? 6 : undefined);

  const rcAllow = rc.ALLOW_IP?.toLowerCase();
  let allowIp: string;
  if (o.sourceIp || (!o.allowIp && rcAllow === 'source')) allowIp = '0.0.0.0';
  else if (o.allowIp) allowIp = o.allowIp;
  else if (rcAllow && rcAllow !== 'resolve') allowIp = rc.ALLOW_IP;
  // the address this host sends from: right unless a NAT is in between (then use -s or -a)
  else allowIp = await sourceAddressFor(target.address, target.family);
  const timeout = o.fwTimeout ?? (rc.FW_TIMEOUT ? Number(rc.FW_TIMEOUT) : undefined);
  if (timeout !== undefined && !(Number.isInteger(timeout) && timeout >= 1 && timeout <= 65535))
    throw usage('-f: expected seconds 1..65535');

  const packet = makeSpaPacket(
    {
      username: o.spoofUser ?? rc.SPOOF_USER ?? userInfo().username,
      timestamp: Math.floor(Date.now() / 1000),
      allowIp,
      access,
      ...(timeout !== undefined ? { clientTimeout: timeout } : {}),
    },
    key,
  );
  if (o.savePacket) {
    const { writeFileSync } = await import('node:fs');
    writeFileSync(o.savePacket, `${packet}\n`, { mode: 0o600 });
  }
  const sent = await sendSpa(packet, target.address, port, proto as SpaProto, host);
  return o.verbose
    ? `${sent}: open ${access.map((a) => `${a.proto}/${a.port}`).join(',')} for ${allowIp === '0.0.0.0' ? 'the source address' : allowIp}\n`
    : '';
}

function readRc(file: string, name: string): FwknopRc {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new CliError('E_FWKNOPRC', `${file}: cannot read (${(err as NodeJS.ErrnoException).code ?? err})`, 1);
  }
  try {
    return fwknopRcStanza(text, name, file);
  } catch (err) {
    if (err instanceof FwknopRcError) throw new CliError('E_FWKNOPRC', err.message, 1);
    throw err;
  }
}

function parsePorts(spec: string | undefined): SpaAccess[] {
  if (!spec) throw usage('which ports? -A tcp/22 (several: -A tcp/22,udp/51820)');
  const r = parseAccessMessage(
    Buffer.from(`0.0.0.0,${spec.replace(/\s+/g, '')}`)
      .toString('base64')
      .replace(/=+$/, ''),
  );
  if (typeof r === 'string') throw usage(`-A ${spec}: ${r}`);
  return r.access;
}

function keysFrom(o: SpaKnockOptions, rc: FwknopRc): SpaKey {
  const hmacName = o.hmacDigestType ?? rc.HMAC_DIGEST_TYPE ?? 'sha256';
  const hmacType: DigestType | null = parseDigestType(hmacName);
  if (!hmacType)
    throw usage(`--hmac-digest-type ${hmacName}: expected md5, sha1, sha256, sha384, sha512, sha3_256 or sha3_512`);
  const legacy = (rc.ENCRYPTION_MODE ?? '').toLowerCase() === 'legacy';
  if (o.keys) {
    let text: string;
    try {
      text = readFileSync(o.keys, 'utf8');
    } catch (err) {
      throw new CliError('E_SECRET', `${o.keys}: cannot read (${(err as NodeJS.ErrnoException).code ?? err})`, 1);
    }
    const pair = parseSpaKeys(text);
    if (typeof pair === 'string') throw new CliError('E_SECRET', `${o.keys}: ${pair}`, 1);
    return { ...pair, hmacType, legacy };
  }
  const b64 = (v: string | undefined, what: string) => {
    if (v === undefined) return undefined;
    const bytes = b64Decode(v.replace(/=+$/, ''));
    if (!bytes || bytes.length === 0) throw new CliError('E_SECRET', `${what} is not base64`, 1);
    return bytes;
  };
  const key =
    b64(o.keyBase64Rijndael ?? rc.KEY_BASE64, 'the Rijndael key') ?? (rc.KEY ? Buffer.from(rc.KEY) : undefined);
  const hmacKey =
    b64(o.keyBase64Hmac ?? rc.HMAC_KEY_BASE64, 'the HMAC key') ?? (rc.HMAC_KEY ? Buffer.from(rc.HMAC_KEY) : undefined);
  if (!key || !hmacKey)
    throw usage('keys needed: --keys FILE, --key-base64-rijndael + --key-base64-hmac, or -n STANZA from ~/.fwknoprc');
  if (key.length > 32) throw new CliError('E_SECRET', `the Rijndael key is ${key.length} bytes, at most 32`, 1);
  return { key, hmacKey, hmacType, legacy };
}

/** `sesame token --spa-keys`: a new key pair, in the form fwknop --key-gen prints. */
export function newSpaKeys(): string {
  return formatSpaKeys({ key: randomBytes(32), hmacKey: randomBytes(64) });
}
