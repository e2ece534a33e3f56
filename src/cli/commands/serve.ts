import { Daemon } from '../../daemon/daemon.js';
import { createLogger, type LogFormat } from '../../daemon/logger.js';
import { StateFile } from '../../daemon/state-file.js';
import { Nftables } from '../../firewall/nftables.js';
import { openNflog } from '../../sources/nflog.js';

export interface ServeOptions {
  config: string;
  logFormat: LogFormat;
  stateDir: string;
  flush: boolean;
  debug: boolean;
}

/** `sesame serve`: runs until SIGTERM/SIGINT; SIGHUP reloads the config. */
export async function serve(opts: ServeOptions): Promise<void> {
  const logger = createLogger(opts.logFormat, undefined, opts.debug);
  const daemon = new Daemon(opts.config, {
    firewall: new Nftables(),
    openPackets: openNflog,
    state: new StateFile(opts.stateDir),
    logger,
  });
  await daemon.start();
  await new Promise<void>((resolve) => {
    let stopping = false;
    const stop = () => {
      if (stopping) return;
      stopping = true;
      daemon.stop(opts.flush).then(resolve, (err) => {
        logger.log('error', 'stop-failed', { reason: String(err) });
        resolve();
      });
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
    process.on('SIGHUP', () => void daemon.reload());
  });
}
