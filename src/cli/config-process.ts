import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { deserialize } from 'node:v8';
import { ConfigError, type ConfigProblem } from '../config/config-error.js';
import type { ConfigAnswer, ConfigRequest, LoadedConfig } from './config-request.js';
import { SesameError } from '../core/sesame-error.js';

// One folder down from the tree's root in both layouts: dist/src/cli/ and the bundle's lib/cli/
// (whose chunks sit in lib/chunks/), so this URL finds the child either way.
const CHILD = fileURLToPath(new URL('../cli/config-child.js', import.meta.url));
const TIMEOUT_MS = 120_000;

/**
 * The config child failed in a way that is not a config problem (crashed, killed, timed out),
 * or with another sesame error, whose code it carries (E_SECRET, E_ONE_TIME...).
 */
export class ConfigProcessError extends SesameError {
  static override readonly code = 'E_CONFIG_PROCESS';
  override readonly name = 'ConfigProcessError';
  constructor(message: string, code?: string) {
    super(message, code === undefined ? {} : { code });
  }
}

/**
 * Loads a config in a child node process and returns its plan, deep-frozen. Why a process:
 * the YAML parser, zod and the compiled schema would otherwise stay in the daemon's memory for
 * its whole life (about 15 MB of a 70 MB daemon) to be used once at start and on SIGHUP.
 * Throws ConfigError as loading in-process would; readable-secret warnings go to `warn`.
 */
export async function loadConfigInChild(
  req: ConfigRequest,
  warn: (p: ConfigProblem) => void = () => {},
): Promise<LoadedConfig> {
  const a = await ask(req);
  for (const w of a.warnings) warn(w);
  if ('problems' in a) throw new ConfigError(a.problems);
  if ('failure' in a) throw new ConfigProcessError(a.failure.message, a.failure.code);
  return deepFreeze(a.loaded);
}

function ask(req: ConfigRequest): Promise<ConfigAnswer> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD, JSON.stringify(req)], {
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: TIMEOUT_MS,
    });
    const out: Buffer[] = [];
    let err = '';
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => {
      if (err.length < 4096) err += d;
    });
    child.on('error', (cause) =>
      reject(new ConfigProcessError(`cannot start the config loader ${CHILD}: ${cause.message}`)),
    );
    child.on('close', (code, signal) => {
      const body = Buffer.concat(out);
      if (code === 0 && body.length > 0) {
        try {
          return resolve(deserialize(body) as ConfigAnswer);
        } catch {}
      }
      const how = signal ? `was killed (${signal})` : `exited with ${code}`;
      reject(new ConfigProcessError(`the config loader ${how}${err ? `: ${err.trim()}` : ''}`));
    });
  });
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !ArrayBuffer.isView(value) && !Object.isFrozen(value)) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
