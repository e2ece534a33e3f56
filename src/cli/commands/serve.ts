import { appendFileSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:net';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { type ConfigProblem, formatProblem } from '../../config/config-error.js';
import type { Plan, SpaListen } from '../../core/door.js';
import { AuditLog, wireAudit } from '../../daemon/audit-log.js';
import { CONTROL_SOCKET } from '../../daemon/control-protocol.js';
import { daemonControl, serveControl } from '../../daemon/control-socket.js';
import { type ConfigLoader, Daemon } from '../../daemon/daemon.js';
import { GrantStore } from '../../daemon/grant-store.js';
import type { Logger } from '../../core/contracts.js';
import { createLogger, type LogFormat } from '../../daemon/logger.js';
import type { Metrics } from '../../daemon/metrics.js';
import { wireMetrics } from '../../daemon/metrics-wiring.js';
import { firewallFindings } from '../../core/doctor/diagnose.js';
import { readHostRulesets } from '../../firewall/host-rulesets.js';
import { type ElementWriter, NetlinkElementWriter } from '../../netfilter/element-writer.js';
import { Nftables } from '../../firewall/nftables.js';
import { openNflog } from '../../netfilter/nflog.js';
import { loadConfigInChild } from '../config-process.js';
import type { ConfigRequest } from '../config-request.js';
import { type FwknopFlags, fwknopOptions } from './fwknop-flags.js';

export interface ServeOptions {
  /** sesame.yaml; exactly one of `config` and `knockdConf`. */
  config?: string;
  /** A knockd.conf, read as knockd reads it. */
  knockdConf?: string;
  /** fwknopd's access.conf, used as it is: every stanza an SPA door. */
  fwknopAccess?: string;
  /** Where SPA packets are received with --fwknop-access (default: UDP 62201). */
  spaListen?: SpaListen;
  /** With --fwknop-access: how stanzas are read (`--hide`). */
  fwknopFlags?: FwknopFlags;
  /** Overrides the config's `log.format`; text when neither says. */
  logFormat?: LogFormat;
  stateDir: string;
  flush: boolean;
  debug: boolean;
  /** Accept secret files group or others can read, with a warning for each (default: refuse). */
  allowReadableSecrets?: boolean;
}

/** `sesame serve`: runs until SIGTERM/SIGINT; SIGHUP reloads the config. */
export async function serve(opts: ServeOptions): Promise<void> {
  // secret files others can read: refused at load, or (--allow-readable-secrets) loudly logged
  const readableSecrets: ConfigProblem[] = [];
  const readableSecretWarn = {
    log: (p: ConfigProblem): void => {
      readableSecrets.push(p); // until the logger exists
    },
  };
  const { load, logFile, pidFile, notes, logFormat, first } = await configLoader(opts, (p) =>
    readableSecretWarn.log(p),
  );
  const write = logFile
    ? (line: string) => {
        process.stdout.write(line);
        try {
          appendFileSync(logFile, line);
        } catch {}
      }
    : undefined;
  const logger = createLogger(opts.logFormat ?? logFormat ?? 'text', write, opts.debug);
  for (const note of notes) logger.log('warn', 'knockd-conf', { note });
  readableSecretWarn.log = (p) =>
    logger.log('warn', 'readable-secret', { where: formatProblem(p), note: 'allowed by --allow-readable-secrets' });
  for (const p of readableSecrets.splice(0)) readableSecretWarn.log(p);
  const elements = openElementWriter(logger);
  const firewall = Nftables.withElements(elements);
  const daemon = new Daemon(load, {
    firewall,
    openPackets: (group) => openNflog(group),
    store: new GrantStore(opts.stateDir),
    logger,
  });
  try {
    await daemon.start();
  } catch (err) {
    // a door that can't start (the daemon logged it): nothing may keep the process alive
    elements?.close();
    throw err;
  }
  // the signals first: a SIGTERM while the rest is set up still stops the daemon cleanly
  // (it waits for the set-up, then stops), instead of killing it with the default action
  let control: Server | undefined;
  let metrics: Metrics | undefined;
  let setUp!: () => void;
  const ready = new Promise<void>((resolve) => {
    setUp = resolve;
  });
  const stopped = new Promise<void>((resolve) => {
    let stopping = false;
    const stop = () => {
      if (stopping) return;
      stopping = true;
      void ready.then(() => {
        control?.close();
        void metrics?.close();
        daemon.stop(opts.flush).then(resolve, (err) => {
          logger.log('error', 'stop-failed', { reason: String(err) });
          resolve();
        });
      });
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
    process.on('SIGHUP', () => void daemon.reload());
  });
  void warnKeptFirewalls(first, logger);
  // every open, close and refusal, hash-chained (sesame audit reads and verifies it)
  const audit = AuditLog.open(opts.stateDir, logger);
  const unwireAudit = audit && wireAudit(daemon.events, audit, first.fleet?.node ?? hostname());
  // metrics (when configured) count the daemon's typed events: grants, refusals, commands, reloads, NFLOG reads
  if (first.metrics) {
    try {
      // prom-client is loaded only when `metrics:` is configured
      const { startMetrics } = await import('../../daemon/metrics.js');
      metrics = await startMetrics({
        listen: first.metrics.listen,
        doors: () => daemon.doorNames(),
        listGrants: () => firewall.listGrants(),
        logger,
      });
      wireMetrics(daemon.events, metrics);
    } catch (err) {
      // the doors are loaded and work; a taken metrics port must not take them down
      logger.log('error', 'metrics-failed', { reason: String((err as Error).message), listen: first.metrics.listen });
    }
  }
  control = await openControl(daemon, opts.stateDir, logger);
  if (pidFile) writeFileSync(pidFile, `${process.pid}\n`);
  setUp();
  await stopped;
  unwireAudit?.();
  audit?.close();
  elements?.close();
  if (pidFile) rmSync(pidFile, { force: true });
}

/**
 * A drop in another table is final (nft runs every base chain), so it defeats every grant of a
 * door on that port: said once at start, with doctor's fix (grant_mark lets a kept drop stay).
 */
async function warnKeptFirewalls(plan: Plan, logger: Logger): Promise<void> {
  try {
    const rulesets = await readHostRulesets();
    for (const f of firewallFindings({ plan, ...rulesets }))
      logger.log('warn', 'kept-firewall', { problem: f.text, fix: f.fix });
  } catch (err) {
    logger.log('warn', 'kept-firewall-unchecked', { reason: String((err as Error).message) });
  }
}

/**
 * Grants go over a netlink socket kept open (a fraction of a millisecond each); where it
 * can't be opened, each grant runs `nft`, slower but the same result.
 */
function openElementWriter(logger: Logger): ElementWriter | undefined {
  try {
    return NetlinkElementWriter.open();
  } catch (err) {
    logger.log('warn', 'netlink-unavailable', { reason: String((err as Error).message), note: 'grants run nft' });
    return undefined;
  }
}

/** `sesame grant`/`revoke` talk to the daemon here; without it they edit the kernel directly. */
async function openControl(
  daemon: Daemon,
  stateDir: string,
  logger: ReturnType<typeof createLogger>,
): Promise<Server | undefined> {
  const path = join(stateDir, CONTROL_SOCKET);
  try {
    return await serveControl(path, daemonControl(daemon), logger);
  } catch (err) {
    logger.log('warn', 'control-socket-failed', {
      path,
      reason: String((err as Error).message),
      note: 'grant/revoke will edit the kernel directly, unlogged',
    });
    return undefined;
  }
}

/**
 * The loader the daemon calls at start and on SIGHUP, each time in a child process
 * (config-process.ts: the parsers stay out of the daemon). For a knockd.conf, its [options]
 * LogFile (log lines are also appended there) and PidFile are honoured; UseSyslog is
 * covered by the log on stdout, which systemd hands to the journal and syslog.
 */
async function configLoader(
  opts: ServeOptions,
  warn: (p: ConfigProblem) => void,
): Promise<{
  load: ConfigLoader;
  logFile?: string;
  pidFile?: string;
  notes: readonly string[];
  logFormat?: LogFormat;
  /** The first load (start-up settings: metrics, door names). */
  first: Plan;
}> {
  const req: ConfigRequest = opts.knockdConf
    ? { kind: 'knockd', file: opts.knockdConf }
    : opts.fwknopAccess
      ? {
          kind: 'fwknop',
          file: opts.fwknopAccess,
          spaListen: opts.spaListen,
          access: fwknopOptions(opts.fwknopFlags ?? {}),
        }
      : { kind: 'sesame', file: opts.config!, readableSecrets: opts.allowReadableSecrets ? 'warn' : 'refuse' };
  // loaded once here for the log settings (a bad config fails before anything starts); the
  // daemon's first load takes this one, later ones (SIGHUP) read the file again
  const loaded = await loadConfigInChild(req, warn);
  let initial: Plan | undefined = loaded.plan;
  const load: ConfigLoader = async () => {
    const plan = initial ?? (await loadConfigInChild(req, warn)).plan;
    initial = undefined;
    return plan;
  };
  return {
    load,
    logFile: loaded.logFile,
    pidFile: loaded.pidFile,
    notes: loaded.notes,
    logFormat: loaded.plan.logFormat,
    first: loaded.plan,
  };
}
