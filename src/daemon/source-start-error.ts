import { SesameError } from '../core/sesame-error.js';

/** A door's source could not start (its port is taken, its log can't be opened): serve exits. */
export class SourceStartError extends SesameError {
  static override readonly code = 'E_SOURCE_START';
  override readonly name = 'SourceStartError';
  constructor(
    readonly door: string,
    readonly reason: string,
    options?: ErrorOptions,
  ) {
    super(`door "${door}" can't start: ${reason}; nothing was loaded into the firewall`, options);
  }
}
