import type { DoorKind } from './kind.js';
import { hitsKind } from './hits.js';
import { httpKind } from './http.js';
import { logKind } from './log.js';
import { sequenceKind } from './sequence.js';
import { sharedKind } from './shared.js';
import { spaKind } from './spa.js';

export type { DoorKind } from './kind.js';

/** Every door kind sesame.yaml knows. Add a kind: one file in this folder, one line here. */
export const DOOR_KINDS: readonly DoorKind[] = [sequenceKind, hitsKind, sharedKind, logKind, httpKind, spaKind];
