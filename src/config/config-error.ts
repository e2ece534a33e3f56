import { SesameError } from '../core/sesame-error.js';

/** One problem in a config file, placed at file:line:column with the field path. */
export interface ConfigProblem {
  readonly file: string;
  readonly line: number;
  readonly column: number;
  /** e.g. `doors.web.knock[2]` */
  readonly field: string;
  readonly message: string;
}

export function formatProblem(p: ConfigProblem): string {
  const where = p.line > 0 ? `${p.file}:${p.line}:${p.column}` : p.file;
  return p.field ? `${where} ${p.field}: ${p.message}` : `${where}: ${p.message}`;
}

/** A config that failed validation. Nothing was applied. */
export class ConfigError extends SesameError {
  static override readonly code = 'E_CONFIG';
  override readonly name = 'ConfigError';
  constructor(readonly problems: readonly ConfigProblem[]) {
    super(problems.map(formatProblem).join('\n'));
  }
}

/** Renders a path like ['doors', 'web', 'knock', 2] as `doors.web.knock[2]`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out ? `.${String(key)}` : String(key);
  }
  return out;
}
