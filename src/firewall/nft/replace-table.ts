import { TABLE_REF } from '../../core/kernel-names.js';

/**
 * nft script lines that remove sesame's table whether or not it exists: declaring an empty
 * table is a no-op when it exists, so the `delete` never fails. Loaded in one `nft -f`
 * transaction with a ruleset, they make the load atomic and idempotent.
 */
export const REMOVE_TABLE = `table ${TABLE_REF} {}\ndelete table ${TABLE_REF}\n`;

/** A standalone script that replaces sesame's table with `ruleset` (what `sesame compile` prints). */
export function replaceTable(ruleset: string): string {
  return `${REMOVE_TABLE}${ruleset}`;
}
