import { readFileSync } from 'node:fs';
import type { Readable, Writable } from 'node:stream';
import { readSecretFile } from '../../config/secret-file.js';
import type { SharedDoor } from '../../core/door.js';
import { encodeTokenKnock, parseStaticSecret } from '../../core/shared-secret.js';
import { knock, resolveHost } from '../../client/knock.js';
import { connectAndRelay, RelayError, sendSharedKnock } from '../../client/proxy.js';
import { CliError } from '../cli-error.js';
import { configDoors, type KnockCliOptions, knocksFor } from './knock-targets.js';

/** Options of `sesame knock` that only the relaying modes use. */
export interface ProxyCliOptions {
  /** Shared-port knock, then relay through the same port (ssh ProxyCommand). */
  proxy?: boolean;
  /** Any knock, then connect to the first target port and relay (ssh ProxyCommand). */
  thenConnect?: boolean;
  secretFile?: string;
  /** Send a one-time token for this door (the secret file holds its base32 key). */
  token?: string;
  /** Expected first bytes of the service; false: relay whatever answers. */
  banner?: string | false;
}

interface Io {
  readonly input: Readable;
  readonly output: Writable;
  readonly log: (line: string) => void;
}

/** What a shared-port knock needs: where, and the bytes to send (a fresh token each call). */
interface SharedTarget {
  readonly port: number;
  readonly payload: () => Buffer;
  readonly token: boolean;
}

/**
 * `sesame knock --proxy HOST 443 --secret-file F` and `sesame knock --then-connect HOST PORT
 * KNOCKS...`: knock, then relay stdin/stdout over a new connection. Writes nothing but the
 * relayed bytes to stdout (it is ssh's channel); messages go to stderr.
 */
export async function proxyKnockCommand(
  host: string,
  targets: readonly string[],
  opts: KnockCliOptions & ProxyCliOptions,
  io: Io = { input: process.stdin, output: process.stdout, log: (l) => process.stderr.write(`sesame knock: ${l}\n`) },
): Promise<void> {
  if (opts.proxy && opts.thenConnect) throw new CliError('E_USAGE', '--proxy and --then-connect exclude each other', 2);
  const target = await resolveHost(host, opts.ipv4 ? 4 : opts.ipv6 ? 6 : undefined);
  const verbose = opts.verbose ? io.log : undefined;
  const relay = (port: number, banner: string | null, token: boolean) =>
    connectAndRelay(target.address, port, {
      input: io.input,
      output: io.output,
      banner,
      // a token is checked by the daemon after the kernel's reset: give it a few tries
      attempts: token ? 6 : 2,
      retryDelayMs: token ? 150 : 100,
      verbose,
    });

  try {
    if (opts.proxy) {
      if (targets.length !== 1) throw new CliError('E_USAGE', '--proxy takes HOST and one PORT or shared door name', 2);
      const shared = await sharedTarget(targets[0], opts);
      await sharedKnock(target.address, shared, io, verbose);
      await relay(shared.port, bannerOf(opts, 'SSH-'), shared.token);
      return;
    }
    const [portText, ...knocks] = targets;
    const port = Number(portText);
    if (!Number.isInteger(port) || port < 1 || port > 65535 || knocks.length === 0) {
      throw new CliError('E_USAGE', '--then-connect takes HOST PORT and then the knock ports or a door name', 2);
    }
    const door = knocks.length === 1 && opts.config ? await sharedDoorNamed(knocks[0], opts.config, false) : null;
    if (door) {
      // a shared-port door is reached through its own port, whatever port ssh was told
      const shared = await sharedTarget(knocks[0], opts);
      await sharedKnock(target.address, shared, io, verbose);
      await relay(shared.port, bannerOf(opts, 'SSH-'), shared.token);
      return;
    }
    await knock(target.address, await knocksFor(knocks, opts), { delayMs: opts.delay, verbose });
    await relay(port, bannerOf(opts, null), false);
  } catch (err) {
    if (err instanceof RelayError) throw new CliError('E_RELAY', err.message, 1);
    throw err;
  } finally {
    // stdin would keep the process alive after the connection closed
    io.input.destroy();
  }
}

async function sharedKnock(address: string, t: SharedTarget, io: Io, verbose?: (l: string) => void): Promise<void> {
  const answer = await sendSharedKnock(address, t.port, t.payload());
  verbose?.(`knock on ${address}:${t.port}: ${answer === 'reset' ? 'taken (connection reset)' : answer}`);
  if (answer === 'refused' || answer === 'unreachable')
    throw new CliError('E_KNOCK', `${address}:${t.port} ${answer}`, 1);
  // not fatal: in window mode a second knock is itself redirected; the banner check decides
  if (answer !== 'reset')
    io.log(`the knock on ${address}:${t.port} was not reset (${answer}); trying to connect anyway`);
  if (t.token) await sleep(50);
}

function bannerOf(opts: ProxyCliOptions, fallback: string | null): string | null {
  if (opts.banner === false) return null;
  return opts.banner || fallback;
}

/** PORT with --secret-file [--token DOOR], or a shared door's name with -c. */
async function sharedTarget(text: string, opts: KnockCliOptions & ProxyCliOptions): Promise<SharedTarget> {
  let port: number;
  let file = opts.secretFile;
  let tokenDoor = opts.token;
  if (/^\d+$/.test(text)) {
    port = Number(text);
    if (port < 1 || port > 65535) throw new CliError('E_USAGE', `port ${text} out of range 1..65535`, 2);
  } else {
    if (!opts.config)
      throw new CliError('E_USAGE', `"${text}" is not a port; to knock a door by name, pass -c sesame.yaml`, 2);
    const door = (await sharedDoorNamed(text, opts.config, true))!;
    port = door.shared.port;
    file ??= door.shared.secretFile;
    if (door.shared.secretKind === 'token') tokenDoor ??= door.name;
  }
  if (!file) throw new CliError('E_USAGE', 'a shared-port knock needs --secret-file FILE (or a door name with -c)', 2);
  if (tokenDoor) {
    const key = readSecretFile(file);
    return { port, token: true, payload: () => encodeTokenKnock(key, tokenDoor, Date.now()) };
  }
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (cause) {
    throw new CliError('E_USAGE', `cannot read secret file ${file}: ${(cause as Error).message}`, 2);
  }
  const secret = parseStaticSecret(bytes);
  if (typeof secret === 'string') throw new CliError('E_USAGE', `${file}: ${secret}`, 2);
  return { port, token: false, payload: () => secret };
}

async function sharedDoorNamed(name: string, config: string, required: boolean): Promise<SharedDoor | null> {
  const door = (await configDoors(config)).find((d) => d.name === name);
  if (door?.kind === 'shared') return door;
  if (!required) return null;
  throw new CliError(
    'E_USAGE',
    door ? `door "${name}" is not a shared-port door` : `no door "${name}" in ${config}`,
    2,
  );
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
