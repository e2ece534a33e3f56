import { SesameError } from '../sesame-error.js';

/** A Python pattern sesame can't translate, with where in the pattern (0-based). */
export class PythonRegexError extends SesameError {
  static override readonly code = 'E_PYTHON_REGEX';
  override readonly name = 'PythonRegexError';
  constructor(
    message: string,
    readonly position: number,
  ) {
    super(message);
  }
}
