#!/usr/bin/env node
// Over 300 lines on purpose: the whole command tree in one definition, which `completion`
// and the README/docs command test read as it is.
import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { Argument, Command, CommanderError, Option } from 'commander';
import { ConfigError } from '../config/config-error.js';
import { SesameError } from '../core/sesame-error.js';
import { CliError } from './cli-error.js';
import { COMPILE_FORMATS } from './commands/compile-formats.js';

// Commands are imported when they run: a ProxyCommand or a knock shouldn't pay for loading
// the daemon, the netlink addon and the HTTP server.
const commands = {
  check: () => import('./commands/check.js'),
  compile: () => import('./commands/compile.js'),
  completion: () => import('./commands/completion.js'),
  demo: () => import('./commands/demo.js'),
  audit: () => import('./commands/audit.js'),
  doctor: () => import('./commands/doctor.js'),
  grant: () => import('./commands/grant.js'),
  import: () => import('./commands/import.js'),
  knock: () => import('./commands/knock.js'),
  knockHttp: () => import('./commands/knock-http.js'),
  knockSpa: () => import('./commands/knock-spa.js'),
  knockSigned: () => import('./commands/knock-signed.js'),
  match: () => import('./commands/match.js'),
  serve: () => import('./commands/serve.js'),
  status: () => import('./commands/status.js'),
  token: () => import('./commands/token.js'),
};

/** Builds the command tree. Actions write through `out`; only runMain touches the process. */
export function buildCli(out: (text: string) => void): Command {
  const program = new Command('sesame')
    .description('Port-knocking firewall controller: knock doors run in the kernel (nftables)')
    .version('0.1.0')
    .exitOverride()
    .configureOutput({ writeOut: out, writeErr: (t) => process.stderr.write(t) });

  program
    .command('serve')
    .description('load the doors into the kernel and watch knocks (runs until SIGTERM; SIGHUP reloads)')
    .option('-c, --config <file>', 'sesame.yaml')
    .option('--knockd-conf <file>', 'a knockd.conf, used as it is (instead of -c)')
    .option('--fwknop-access <file>', "fwknopd's access.conf, used as it is: each stanza an SPA door (instead of -c)")
    .option(
      '--spa-listen <address>',
      'with --fwknop-access: address the SPA listeners bind (default: all, IPv4 and IPv6)',
    )
    .option('--spa-udp <port>', 'with --fwknop-access: UDP port for SPA packets, 0 = off', (v) => Number(v), 62201)
    .option('--spa-tcp <port>', 'with --fwknop-access: TCP port for SPA packets (fwknop -P tcp)', (v) => Number(v))
    .option('--spa-http <port>', 'with --fwknop-access: HTTP port for SPA packets (fwknop -P http)', (v) => Number(v))
    .option('--hide <ports>', 'with --fwknop-access: ports to hide for stanzas without OPEN_PORTS (22,udp/51820)')
    .addOption(
      new Option('--log-format <format>', "log lines as (default: the config's log.format, else text)").choices([
        'text',
        'json',
      ]),
    )
    .option('--state-dir <dir>', 'where pending door commands are kept across restarts', '/var/lib/sesame')
    .option('--flush', 'remove the doors from the kernel on exit (default: they keep working)', false)
    .option('--debug', 'log undecodable packets and other debug events', false)
    .option('--allow-readable-secrets', 'start even if group or others can read a secret file (logs a warning)', false)
    .action((o) => {
      if ([o.config, o.knockdConf, o.fwknopAccess].filter(Boolean).length !== 1)
        throw new CliError(
          'E_USAGE',
          'serve needs exactly one of -c sesame.yaml, --knockd-conf knockd.conf and --fwknop-access access.conf',
          2,
        );
      for (const flag of ['spaUdp', 'spaTcp', 'spaHttp'] as const) {
        const v = o[flag];
        if (v !== undefined && !(Number.isInteger(v) && v >= 0 && v <= 65535))
          throw new CliError('E_USAGE', `--${flag.replace('spa', 'spa-').toLowerCase()}: expected a port 0..65535`, 2);
      }
      return commands.serve().then(({ serve }) =>
        serve({
          config: o.config,
          knockdConf: o.knockdConf,
          fwknopAccess: o.fwknopAccess,
          fwknopFlags: { hide: o.hide },
          spaListen: {
            ...(o.spaListen ? { host: o.spaListen } : {}),
            udp: o.spaUdp || null,
            tcp: o.spaTcp || null,
            http: o.spaHttp || null,
          },
          logFormat: o.logFormat,
          stateDir: o.stateDir,
          flush: o.flush,
          debug: o.debug,
          allowReadableSecrets: o.allowReadableSecrets,
        }),
      );
    });

  program
    .command('import')
    .description(
      'translate a knockd.conf (or with --fwknop-access an access.conf) into sesame.yaml on stdout: `sesame import /etc/knockd.conf > sesame.yaml`',
    )
    .argument('<file>', 'knockd.conf, or access.conf with --fwknop-access')
    .option('--fwknop-access', "the file is fwknopd's access.conf", false)
    .option('--keys-dir <dir>', "with --fwknop-access: write each door's key file there (mode 0600)")
    .option('--hide <ports>', 'with --fwknop-access: ports to hide for stanzas without OPEN_PORTS (22,udp/51820)')
    .action(async (file, o) =>
      out(
        o.fwknopAccess
          ? (await commands.import()).importFwknopCommand(file, o.keysDir, { hide: o.hide })
          : (await commands.import()).importCommand(file),
      ),
    );

  program
    .command('check')
    .description('validate configs and print the ruleset each would load; changes nothing')
    .requiredOption('-c, --config <files...>', 'sesame.yaml (several: `-c examples/*.yaml`)')
    .option('--no-kernel', 'skip the `nft -c` dry run')
    .action(async (o) => {
      const { check } = await commands.check();
      for (const file of o.config as string[]) {
        out(await check(file, { kernel: o.kernel, note: (t) => process.stderr.write(`${t}\n`) }));
      }
    });

  program
    .command('match')
    .description(
      'test a log door on a log file, like fail2ban-regex: each matching line number and host, then a summary',
    )
    .argument('<logfile>')
    .option('--filter <file>', 'a fail2ban filter.d/*.conf file')
    .option('--mode <mode>', 'with --filter: the filter mode (e.g. aggressive)')
    .option('--logtype <type>', 'with --filter: the filter logtype (e.g. short, journal)')
    .option('--match <regex...>', 'failregex(es) as in a log door `match:`')
    .option('--ignore <regex...>', 'ignoreregex(es)')
    .option('--json', 'one JSON line per match: {"line": N, "host": "..."} (summary on stderr)', false)
    .action(async (file, o) => (await commands.match()).matchCommand(file, o, out, (t) => process.stderr.write(t)));

  program
    .command('status')
    .description('doors and open grants with remaining time, read from the kernel')
    .option('--json', 'machine-readable output', false)
    .option('--state-dir <dir>', "serve's state folder (fleet status)", '/var/lib/sesame')
    .action(async (o) => out(`${await (await commands.status()).status({ json: o.json, stateDir: o.stateDir })}\n`));

  program
    .command('audit')
    .description('the audit log (every open, close and refusal, hash-chained); `audit verify` checks the chain')
    .argument('[verify]', 'check that no line was changed, removed or cut')
    .option('--user <name>', 'only lines of this user')
    .option('--door <name>', 'only lines of this door')
    .option('--since <duration>', 'only lines this recent, e.g. 1h')
    .option('--json', 'the lines as written (JSON)', false)
    .option('--state-dir <dir>', "serve's state folder", '/var/lib/sesame')
    .action(async (what, o) => out(`${(await commands.audit()).audit(what, o)}\n`));

  program
    .command('doctor')
    .description(
      'check this host for what would defeat a door (other firewalls, listeners, sysctls, files); exit 1 on problems',
    )
    .option('-c, --config <file>', 'sesame.yaml', '/etc/sesame/sesame.yaml')
    .option('--knockd-conf <file>', 'check the doors of a knockd.conf that serve runs as it is (instead of -c)')
    .option('--fwknop-access <file>', "check the stanzas of fwknopd's access.conf that serve runs (instead of -c)")
    .option('--hide <ports>', 'with --fwknop-access: ports to hide for stanzas without OPEN_PORTS (22,udp/51820)')
    .option('--state-dir <dir>', "the daemon's state dir", '/var/lib/sesame')
    .option('--json', 'machine-readable output', false)
    .action(async (o) => (await commands.doctor()).doctor(o, out));

  program
    .command('grant')
    .description('open DOOR for ADDRESS now (through the running daemon, else in the kernel directly)')
    .argument('<door>')
    .argument('<address>', 'one IPv4 or IPv6 address')
    .option('--for <duration>', "grant lifetime, e.g. 10m (default: the door's `for`)")
    .option('--state-dir <dir>', "the daemon's state dir, where its control socket is", '/var/lib/sesame')
    .action(async (door, address, o) => out(`${await (await commands.grant()).grantCommand(door, address, o)}\n`));

  program
    .command('revoke')
    .description('close DOOR for ADDRESS now; established connections stay up')
    .argument('<door>')
    .argument('<address>', 'one IPv4 or IPv6 address')
    .option('--state-dir <dir>', "the daemon's state dir, where its control socket is", '/var/lib/sesame')
    .action(async (door, address, o) => out(`${await (await commands.grant()).revokeCommand(door, address, o)}\n`));

  program
    .command('knock')
    .description(
      'knock on HOST: `sesame knock HOST 7000 8000 9000`, `... 7000:udp`, or `sesame knock HOST DOOR -c sesame.yaml`',
    )
    .argument('<host>')
    .argument('[targets...]', 'ports (PORT, PORT/udp, PORT:udp) or one door name')
    .option('-c, --config <file>', 'config that defines the door')
    .option('-d, --delay <ms>', 'wait between knocks', (v) => Number(v), 0)
    .option('-u, --udp', 'knock with UDP unless a port says otherwise', false)
    .option('-4, --ipv4', 'use IPv4', false)
    .option('-6, --ipv6', 'use IPv6', false)
    .option('-v, --verbose', 'print each knock', false)
    .option('--close', "send the door's close sequence", false)
    .option(
      '--proxy',
      'shared-port knock: send the secret on HOST PORT, then relay stdin/stdout through PORT (ssh ProxyCommand)',
    )
    .option(
      '--then-connect',
      'knock, then connect to HOST and the first target PORT and relay stdin/stdout (ssh ProxyCommand)',
    )
    .option('--secret-file <file>', 'file holding the shared-port secret (or the base32 key with --token)')
    .option('--token <door>', 'send a one-time HMAC token for DOOR instead of the static secret')
    .option('--banner <prefix>', 'first bytes the redirected service sends (default for shared ports: SSH-)')
    .option('--no-banner', 'relay whatever answers, without checking the banner')
    .option('--http <url>', 'web knock: POST a one-time token for the door named as HOST to the endpoint at URL')
    .option('--totp', 'with --http: send the current TOTP code instead of an HMAC token', false)
    .option('--cacert <file>', "with --http: the CA certificate that signed the endpoint's certificate")
    .option('--spa', 'send an fwknop-compatible SPA packet to HOST (with -A; keys from --keys or -n)', false)
    .option('-A, --access <ports>', 'with --spa: ports to open, e.g. tcp/22 or tcp/22,udp/51820')
    .option('-a, --allow-ip <address>', 'with --spa: address to open (default: the one this host sends from)')
    .option('-s, --source-ip', 'with --spa: open whatever address the packet arrives from (0.0.0.0)', false)
    .option('-f, --fw-timeout <seconds>', 'with --spa: ask for this grant lifetime', (v) => Number(v))
    .option('-P, --spa-proto <proto>', 'with --spa: udp (default), tcp or http')
    .option('-p, --server-port <port>', 'with --spa: destination port (default 62201, http 80)', (v) => Number(v))
    .option('--keys <file>', 'with --spa: key file (`sesame token --spa-keys`, fwknop --key-gen)')
    .option('--key-base64-rijndael <key>', 'with --spa: the encryption key, base64')
    .option('--key-base64-hmac <key>', 'with --spa: the HMAC key, base64')
    .option('--hmac-digest-type <type>', 'with --spa: md5, sha1, sha256 (default), sha384, sha512, sha3_256, sha3_512')
    .option('-n, --named-config <name>', 'with --spa: take server, keys and ports from this ~/.fwknoprc stanza')
    .option('--rc-file <file>', 'with --spa: read this file instead of ~/.fwknoprc')
    .option('-U, --spoof-user <user>', 'with --spa: username in the packet (default: yours)')
    .option('--save-packet <file>', 'with --spa: also write the packet to FILE')
    .option('--key <file>', "with --spa: sesame's signed packet, with this ed25519 private key (PEM)")
    .option(
      '--ssh',
      "sesame's signed packet, signed with your ssh key through ssh-agent (with -A, or --proxy HOST PORT)",
    )
    .option('--ssh-key <file>', 'with --ssh: this key (FILE or FILE.pub; from the agent when it holds it)')
    .option('--user <name>', 'with --key or --ssh: your name in the users file (default: your login name)')
    .option('--door <name>', 'with --key or --ssh: the door (default: the first you may use that opens the ports)')
    .action(async (host, targets, o) =>
      o.ssh || (o.spa && o.key)
        ? out(
            await (
              await commands.knockSigned()
            ).signedKnockCommand(host, targets, {
              key: o.key,
              ssh: o.ssh,
              sshKey: o.sshKey,
              user: o.user,
              door: o.door,
              access: o.access,
              allowIp: o.allowIp,
              sourceIp: o.sourceIp,
              fwTimeout: o.fwTimeout,
              spaProto: o.spaProto,
              serverPort: o.serverPort,
              proxy: o.proxy,
              ipv4: o.ipv4,
              ipv6: o.ipv6,
              verbose: o.verbose,
            }),
          )
        : o.spa
          ? out(
              await (
                await commands.knockSpa()
              ).spaKnockCommand(host, {
                access: o.access ?? (targets.length ? targets.join(',') : undefined),
                allowIp: o.allowIp,
                sourceIp: o.sourceIp,
                fwTimeout: o.fwTimeout,
                spaProto: o.spaProto,
                serverPort: o.serverPort,
                keys: o.keys,
                keyBase64Rijndael: o.keyBase64Rijndael,
                keyBase64Hmac: o.keyBase64Hmac,
                hmacDigestType: o.hmacDigestType,
                named: o.namedConfig,
                rcFile: o.rcFile,
                spoofUser: o.spoofUser,
                savePacket: o.savePacket,
                ipv4: o.ipv4,
                ipv6: o.ipv6,
                verbose: o.verbose,
              }),
            )
          : o.http
            ? out(
                await (
                  await commands.knockHttp()
                ).httpKnockCommand(o.http, host, {
                  config: o.config,
                  secretFile: o.secretFile,
                  totp: o.totp,
                  cacert: o.cacert,
                }),
              )
            : (await commands.knock()).knockCommand(host, targets, o),
    );

  program
    .command('token')
    .description('print a one-time web-knock token for DOOR, its TOTP code or otpauth:// URI, or a new secret')
    .argument('[door]')
    .option('-c, --config <file>', 'config that defines the door')
    .option('--secret-file <file>', "the door's base32 key, instead of -c")
    .option('--totp', 'print the current TOTP code instead of an HMAC token', false)
    .option('--totp-uri', 'print the otpauth:// URI for a phone authenticator app (make a QR code of it)', false)
    .option('--issuer <name>', 'issuer shown in the authenticator app', 'sesame')
    .option('--new-secret', 'print a fresh random secret for a new door (base32, 160 bits)', false)
    .option('--spa-keys', 'print a new SPA key pair (KEY_BASE64, HMAC_KEY_BASE64) as fwknop --key-gen does', false)
    .action(async (door, o) =>
      out(o.spaKeys ? (await commands.knockSpa()).newSpaKeys() : (await commands.token()).tokenCommand(door, o)),
    );

  program
    .command('compile')
    .description('print a standalone ruleset that needs no daemon (nft, or iptables `recent` rules)')
    .requiredOption('-c, --config <file>', 'sesame.yaml')
    .addOption(new Option('-f, --format <format>', 'ruleset for').choices(COMPILE_FORMATS).default('nft'))
    .action(async (o) => out((await commands.compile()).compile(o.config, o.format)));

  program
    .command('completion')
    .description('print a bash or zsh completion script: `source <(sesame completion bash)`')
    .addArgument(new Argument('<shell>', 'bash or zsh').choices(['bash', 'zsh']))
    .action(async (shell) => out((await commands.completion()).completionCommand(program, shell)));

  program
    .command('demo')
    .description('build throwaway namespaces and show a knock opening and the kernel closing a door')
    .action(async () => (await commands.demo()).demo((l) => out(`${l}\n`)));

  return program;
}

/** Parses argv, runs, prints errors, sets the exit code. */
export async function runMain(argv = process.argv): Promise<number> {
  const program = buildCli((t) => process.stdout.write(t));
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
    if (err instanceof ConfigError) {
      process.stderr.write(`sesame: invalid config, nothing was changed:\n${err.message}\n`);
      return 2;
    }
    if (err instanceof CliError) {
      process.stderr.write(`sesame: ${err.message}\n`);
      return err.exitCode;
    }
    // sesame's own errors carry a stable code and a message written for the user; others are bugs
    if (err instanceof SesameError) {
      process.stderr.write(`sesame: ${err.message}\n`);
      return 1;
    }
    process.stderr.write(`sesame: ${(err as Error)?.stack ?? String(err)}\n`);
    return 1;
  }
}

// Runs when this file is the script (`node dist/src/cli/main.js`). Bundled, this code sits in
// bin.js, which runs the CLI itself: a check by file name alone ran every command twice there.
const script = process.argv[1];
if (
  script &&
  import.meta.url.endsWith('/cli/main.js') &&
  import.meta.url === pathToFileURL(realpathSync(script)).href
) {
  runMain().then((code) => {
    process.exitCode = code;
  });
}
