// The config loader `sesame serve` runs in a short-lived child process (config-process.ts):
// the YAML parser, the schema library and the schema itself stay out of the long-running
// daemon, which only receives the validated plan. Request in argv[2] (JSON), answer on stdout
// (v8.serialize, which keeps key bytes as bytes); never prints anything else there.
import { serialize } from 'node:v8';
import { ConfigError, type ConfigProblem } from '../config/config-error.js';
import { loadFwknopAccess } from '../config/fwknop-plan.js';
import { loadKnockdConf } from '../config/knockd-plan.js';
import { loadConfigFile } from '../config/load-config.js';
import { SesameError } from '../core/sesame-error.js';
import type { ConfigAnswer, ConfigRequest, LoadedConfig } from './config-request.js';

function load(req: ConfigRequest, warnings: ConfigProblem[]): LoadedConfig {
  switch (req.kind) {
    case 'knockd': {
      const k = loadKnockdConf(req.file);
      return { plan: k.plan, logFile: k.options.logFile, pidFile: k.options.pidFile, notes: k.notes };
    }
    case 'fwknop':
      return { plan: loadFwknopAccess(req.file, req.spaListen, req.access), notes: [] };
    case 'sesame':
      return {
        plan: loadConfigFile(req.file, { readableSecrets: req.readableSecrets, warn: (p) => warnings.push(p) }),
        notes: [],
      };
  }
}

function answer(): ConfigAnswer {
  const warnings: ConfigProblem[] = [];
  try {
    const req = JSON.parse(process.argv[2] ?? '') as ConfigRequest;
    return { loaded: load(req, warnings), warnings };
  } catch (err) {
    if (err instanceof ConfigError) return { problems: err.problems, warnings };
    return {
      failure: {
        message: err instanceof Error ? err.message : String(err),
        code: err instanceof SesameError ? err.code : undefined,
      },
      warnings,
    };
  }
}

process.stdout.write(serialize(answer()));
