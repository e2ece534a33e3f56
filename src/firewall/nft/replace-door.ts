import type { Plan } from '../../core/door.js';
import { grantSets, TABLE_REF } from '../../core/kernel-names.js';
import { compileTable, type KernelFeatures, type NftObject } from './compile.js';
import { indent } from './syntax.js';
import { SesameError } from '../../core/sesame-error.js';

/** The loaded table can't become the new plan's by replacing one door's part (see replaceDoor). */
export class DoorSwapError extends SesameError {
  static override readonly code = 'E_SWAP';
  override readonly name = 'DoorSwapError';
  constructor(door: string, set: string) {
    super(
      `replacing door ${door}'s rules would re-create set ${set}, which is not ${door}'s knock state; ` +
        'load the whole table instead',
    );
  }
}

/**
 * An nft script (one transaction) that turns the table loaded from `before` into `after`'s
 * by replacing door `door`'s part only: its chains and its knock-state sets are flushed,
 * deleted and declared anew (so progress made on its old sequence doesn't carry into the new
 * one), and the chains that only dispatch or reset (`knocks`, the sweep resets), which
 * name its ports and sets, are flushed and refilled. Every other set keeps its elements: the
 * grant sets (this door's too) and every other door's knock progress. Throws DoorSwapError
 * when the plans differ in a set that isn't `door`'s knock state. Pure.
 */
export function replaceDoor(before: Plan, after: Plan, door: string, kernel: KernelFeatures = {}): string {
  const was = compileTable(before, kernel);
  const will = compileTable(after, kernel);
  const grants = new Set([...grantSets(before), ...grantSets(after)]);
  const isKnockState = (o: NftObject) => o.owner === door && !grants.has(o.name);
  const wasSets = byName(was.sets);
  const willSets = byName(will.sets);
  const wasChains = byName(was.chains);
  const willChains = byName(will.chains);

  for (const s of will.sets) {
    const old = wasSets.get(s.name);
    if (old && !isKnockState(old) && !isKnockState(s) && old.text !== s.text) throw new DoorSwapError(door, s.name);
  }
  const deleteSets = was.sets.filter((s) => isKnockState(s) || !willSets.has(s.name));
  const declareSets = will.sets.filter((s) => isKnockState(s) || !wasSets.has(s.name));
  // a chain is refilled when it changed, and also when it names a set deleted here even if its
  // text stays the same (the sweep resets when both lines are as long): the kernel refuses to
  // delete a set a rule still names (EBUSY)
  const refill = (name: string) => {
    const old = wasChains.get(name);
    const now = willChains.get(name);
    if (!old || !now) return true;
    return old.owner === door || old.text !== now.text || deleteSets.some((s) => namesSet(old.text, s.name));
  };
  const flushChains = was.chains.filter((c) => refill(c.name));
  const deleteChains = was.chains.filter((c) => !willChains.has(c.name));
  const declareChains = will.chains.filter((c) => refill(c.name));

  // rules first (they hold the references), then the chains and sets they named, then the new part
  return [
    `# sesame: replace door ${door}'s rules and knock state; grants and other doors' sets stay`,
    ...flushChains.map((c) => `flush chain ${TABLE_REF} ${c.name}`),
    ...deleteChains.map((c) => `delete chain ${TABLE_REF} ${c.name}`),
    ...deleteSets.map((s) => `delete set ${TABLE_REF} ${s.name}`),
    ...(declareSets.length + declareChains.length > 0
      ? [`table ${TABLE_REF} {`, ...[...declareSets, ...declareChains].map((o) => indent(o.text)), '}']
      : []),
    '',
  ].join('\n');
}

/** Whether a chain's rules name set `set` (`@set`; set names are letters, digits, `_`, `-`). */
function namesSet(chain: string, set: string): boolean {
  return new RegExp(`@${set.replace(/[^\w]/g, '\\$&')}(?![\\w-])`).test(chain);
}

function byName(objects: readonly NftObject[]): Map<string, NftObject> {
  return new Map(objects.map((o) => [o.name, o]));
}
