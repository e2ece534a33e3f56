import { SesameError } from '../core/sesame-error.js';

/**
 * A user-facing failure of a command, with the code of what failed (E_USAGE for a command line
 * that can't run, E_NO_DOOR, E_STATUS...: docs/errors.md); only main() prints it and picks the
 * exit status.
 */
export class CliError extends SesameError {
  static override readonly code = 'E_USAGE';
  override readonly name = 'CliError';
  constructor(
    code: string,
    message: string,
    readonly exitCode = 1,
  ) {
    super(message, { code });
  }
}
