import type { OneTimeDoor, Plan } from '../../core/door.js';
import type { DoorNames } from '../../core/kernel-names.js';
import type { NftFragment } from './fragment.js';
import { compileSequenceDoor } from './sequence.js';

/**
 * One-time sequence doors: the kernel matches the active sequence exactly like a fixed one;
 * the daemon swaps it after each use. A door whose file is used up has no knock rules,
 * only its grant set (so grants already given run out normally) and its protected ports.
 */
export function compileOneTimeDoor(door: OneTimeDoor, plan: Plan, names: DoorNames): Partial<NftFragment> {
  if (!door.knock) return {};
  return compileSequenceDoor({ ...door, kind: 'sequence', knock: door.knock }, plan, names, door.line);
}
