import { loadConfigFile } from '../../config/load-config.js';
import type { Door, Plan } from '../../core/door.js';
import { compileIptables } from '../../firewall/iptables/compile.js';
import { IptablesCompileError } from '../../firewall/iptables/syntax.js';
import { compileNft } from '../../firewall/nft/compile.js';
import { replaceTable } from '../../firewall/nft/replace-table.js';
import { CliError } from '../cli-error.js';
import type { CompileFormat } from './compile-formats.js';

/** Door kinds the kernel runs alone, per output format. */
const KERNEL_KINDS: Record<CompileFormat, ReadonlySet<string>> = {
  nft: new Set(['sequence', 'hits', 'shared']),
  'iptables-restore': new Set(['sequence', 'hits', 'shared']),
  'ip6tables-restore': new Set(['sequence', 'hits', 'shared']),
};

/**
 * `sesame compile`: a standalone ruleset that works with no sesame process running.
 * `nft` is exactly what `serve` loads, prefixed so `nft -f` replaces sesame's table
 * (loading twice is harmless); the iptables formats use the `recent` module.
 * Throws CliError (exit 2) naming the first door that needs the daemon.
 */
export function compile(file: string, format: CompileFormat): string {
  const plan = loadConfigFile(file);
  for (const door of plan.doors) {
    const why = needsDaemon(door, format);
    if (why) {
      throw new CliError(
        'E_NEEDS_DAEMON',
        `door "${door.name}" ${why}, so it can't work without the daemon; run \`sesame serve\` or remove the door from the config you compile`,
        2,
      );
    }
  }
  return render(plan, format);
}

function render(plan: Plan, format: CompileFormat): string {
  if (format === 'nft') return replaceTable(compileNft(plan));
  try {
    return compileIptables(plan, format === 'iptables-restore' ? 4 : 6);
  } catch (err) {
    if (err instanceof IptablesCompileError) throw new CliError('E_IPTABLES', `${err.message} (use --format nft)`, 2);
    throw err;
  }
}

/** Why a door can't run kernel-only in `format`, or null when it can. */
export function needsDaemon(door: Door, format: CompileFormat): string | null {
  if (!KERNEL_KINDS[format].has(door.kind)) {
    return KERNEL_KINDS.nft.has(door.kind)
      ? `is a ${door.kind} door, which ${format} output can't express yet (use --format nft)`
      : `is a ${door.kind} door: its knocks are checked by the daemon`;
  }
  if (door.kind === 'shared' && door.shared.secretKind === 'token')
    return 'is a token shared-port door: its tokens are checked by the daemon';
  if (door.run?.start || door.run?.stop) return 'runs commands (`run:`), which only the daemon can start';
  return null;
}
