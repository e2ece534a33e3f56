import type { Command } from 'commander';
import { bashCompletion } from '../completion/bash-completion.js';
import { describeCli } from '../completion/cli-spec.js';
import { zshCompletion } from '../completion/zsh-completion.js';

/** Shells `sesame completion` writes a script for. */
export const COMPLETION_SHELLS = ['bash', 'zsh'] as const;
export type CompletionShell = (typeof COMPLETION_SHELLS)[number];

/** `sesame completion SHELL`: the completion script, built from PROGRAM's own definition. */
export function completionCommand(program: Command, shell: CompletionShell): string {
  const spec = describeCli(program);
  return shell === 'bash' ? bashCompletion(spec) : zshCompletion(spec);
}
