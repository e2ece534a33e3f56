import type { SourceFactory } from '../sources/door-source.js';
import { httpKnockSource } from '../sources/http/source.js';
import { logWatchSource } from '../sources/logwatch/source.js';
import { sharedTokenSource } from '../sources/shared-token.js';
import { spaSource } from '../sources/spa/source.js';

/** Every daemon-side source. Add one: a file in sources/, one line here. */
export const SOURCE_FACTORIES: readonly SourceFactory[] = [
  sharedTokenSource,
  logWatchSource,
  httpKnockSource,
  spaSource,
];
