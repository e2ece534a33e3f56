import { readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { connectAndRelay, RelayError } from '../../client/proxy.js';
import { knockEd25519, knockSsh, type SignedKnock, type SignedKnockResult } from '../../client/signed-knock.js';
import { resolveHost, sourceAddressFor } from '../../client/spa-knock.js';
import { SshAgentError } from '../../client/ssh-agent.js';
import { sshCandidates } from '../../client/ssh-signer.js';
import type { PortSpec } from '../../core/port-spec.js';
import { parseEd25519Private } from '../../core/spa/ed25519-keys.js';
import { parseAccessMessage } from '../../core/spa/message.js';
import { CliError } from '../cli-error.js';

export interface SignedKnockOptions {
  /** ed25519 private key file (`--spa --key FILE`). */
  key?: string;
  /** Sign with an ssh key (`--ssh`), from the agent or `--ssh-key FILE`. */
  ssh?: boolean;
  sshKey?: string;
  user?: string;
  door?: string;
  access?: string;
  allowIp?: string;
  sourceIp?: boolean;
  fwTimeout?: number;
  spaProto?: string;
  serverPort?: number;
  proxy?: boolean;
  ipv4?: boolean;
  ipv6?: boolean;
  verbose?: boolean;
}

const usage = (m: string) => new CliError('E_USAGE', m, 2);

/**
 * `sesame knock --spa --key FILE HOST -A tcp/22` and `sesame knock --ssh HOST -A tcp/22`: sesame's
 * signed SPA packet (docs/spa.md). With `--proxy HOST PORT` it asks for tcp/PORT, then relays
 * stdin/stdout to it: `ProxyCommand sesame knock --ssh --proxy %h %p`.
 */
export async function signedKnockCommand(
  host: string,
  targets: readonly string[],
  o: SignedKnockOptions,
): Promise<string> {
  if (o.ipv4 && o.ipv6) throw usage('-4 and -6 exclude each other');
  const proto = (o.spaProto ?? 'udp').toLowerCase();
  if (proto !== 'udp' && proto !== 'tcp') throw usage(`-P ${proto}: a signed packet goes over udp or tcp`);
  let relayPort: number | null = null;
  let ports: PortSpec[];
  if (o.proxy) {
    if (targets.length !== 1 || !/^\d+$/.test(targets[0])) throw usage('--proxy takes HOST and the PORT to relay to');
    relayPort = Number(targets[0]);
    if (relayPort < 1 || relayPort > 65535) throw usage(`port ${targets[0]} out of range 1..65535`);
    ports = [{ proto: 'tcp', port: relayPort }];
  } else ports = parsePorts(o.access ?? (targets.length ? targets.join(',') : undefined));
  const lifetimeS = o.fwTimeout ?? 0;
  if (!(Number.isInteger(lifetimeS) && lifetimeS >= 0 && lifetimeS <= 65535))
    throw usage('-f: expected seconds 1..65535');

  const target = await resolveHost(host, o.ipv4 ? 4 : o.ipv6 ? 6 : undefined);
  const address = o.sourceIp ? null : (o.allowIp ?? (await sourceAddressFor(target.address, target.family)));
  const knock: SignedKnock = {
    address: target.address,
    port: o.serverPort ?? 62201,
    proto,
    request: { user: o.user ?? userInfo().username, door: o.door ?? '', address, lifetimeS, ports },
  };
  let result: SignedKnockResult;
  try {
    result = o.ssh
      ? await knockSsh(knock, await sshCandidates(o.sshKey))
      : await knockEd25519(knock, privateKey(o.key));
  } catch (err) {
    if (err instanceof SshAgentError) throw new CliError('E_SSH_AGENT', err.message, 1);
    if (err instanceof RangeError) throw usage(err.message);
    throw err;
  }
  const said = `sent ${result.bytes} bytes to ${target.address} ${proto}/${knock.port} signed with ${result.key}${result.granted ? ', granted' : proto === 'udp' ? ', no answer' : ''}`;
  if (relayPort === null) return o.verbose ? `${said}\n` : '';
  if (o.verbose) process.stderr.write(`sesame knock: ${said}\n`);
  try {
    await connectAndRelay(target.address, relayPort, {
      input: process.stdin,
      output: process.stdout,
      banner: null,
      // the grant is in before the answer; without one (tcp, a lost answer) give it a few tries
      attempts: result.granted ? 2 : 6,
      retryDelayMs: 150,
      ...(o.verbose ? { verbose: (l: string) => process.stderr.write(`sesame knock: ${l}\n`) } : {}),
    });
  } catch (err) {
    if (err instanceof RelayError) throw new CliError('E_RELAY', err.message, 1);
    throw err;
  } finally {
    process.stdin.destroy();
  }
  return '';
}

function privateKey(file: string | undefined) {
  if (!file) throw usage('--spa --key FILE: the ed25519 private key (or --ssh to sign with an ssh key)');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new CliError('E_SECRET', `${file}: cannot read (${(err as NodeJS.ErrnoException).code ?? err})`, 1);
  }
  const key = parseEd25519Private(text);
  if (typeof key === 'string') throw new CliError('E_SECRET', `${file}: ${key}`, 1);
  return key;
}

function parsePorts(spec: string | undefined): PortSpec[] {
  if (!spec) throw usage('which ports? -A tcp/22 (several: -A tcp/22,udp/51820)');
  const r = parseAccessMessage(
    Buffer.from(`0.0.0.0,${spec.replace(/\s+/g, '')}`)
      .toString('base64')
      .replace(/=+$/, ''),
  );
  if (typeof r === 'string') throw usage(`-A ${spec}: ${r}`);
  return r.access.map((a) => ({ proto: a.proto, port: a.port }));
}
