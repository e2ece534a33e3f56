/**
 * The base of every error sesame raises on purpose. `code` is stable: scripts and the table in
 * docs/errors.md rely on it, while messages may be reworded. Each class has its own code
 * (`static code`); CliError and ConfigProcessError pass the code of the failure they report.
 * The CLI prints a SesameError's message for the user and anything else with its stack (a bug).
 */
export abstract class SesameError extends Error {
  /** The class's code, `E_` and capitals (docs/errors.md lists every one). */
  static readonly code: string;
  readonly code: string;

  constructor(message: string, options?: ErrorOptions & { readonly code?: string }) {
    super(message, options);
    this.code = options?.code ?? (new.target as unknown as typeof SesameError).code;
  }
}
