import { isMap, isScalar, type Document, type LineCounter } from 'yaml';
import type { z } from 'zod';
import type { ConfigProblem } from './config-error.js';

/**
 * From a YAML document and a zod error to problems at file:line:column: shared by sesame.yaml
 * and the users file.
 */

/** Builds a problem at a config path (its value, or its key with `atKey`). */
export type AtPath = (path: readonly PropertyKey[], message: string, atKey?: boolean) => ConfigProblem;

/** A zod error's issues as problems, each placed under `prefix`. */
export function issues(
  error: z.ZodError,
  prefix: readonly PropertyKey[],
  at: (path: readonly PropertyKey[], message: string, atKey?: boolean) => ConfigProblem,
): ConfigProblem[] {
  return error.issues.map((issue) => {
    const path = [...prefix, ...issue.path];
    if (issue.code === 'unrecognized_keys') {
      const keys = (issue as { keys: string[] }).keys;
      return at(
        [...path, keys[0]],
        `unknown key${keys.length > 1 ? 's' : ''} ${keys.map((k) => `"${k}"`).join(', ')}`,
        true,
      );
    }
    if (issue.code === 'invalid_type' && (issue as { input?: unknown }).input === undefined) {
      return at(path, `missing required field (${issue.message.replace(/^Invalid input: /, '')})`);
    }
    const input = (issue as { input?: unknown }).input;
    const got = issue.code === 'custom' || input === undefined ? '' : ` (got ${JSON.stringify(input)})`;
    return at(path, `${issue.message.replace(/^Invalid input: /, '')}${got}`);
  });
}

/** Line and column of the deepest node that exists on `path`: its value, or its key with `atKey`. */
export function locate(
  doc: Document,
  lines: LineCounter,
  path: readonly PropertyKey[],
  atKey: boolean,
): { line: number; col: number } {
  let node: unknown = doc.contents;
  let offset = 0;
  for (const key of path) {
    if (!isMap(node) && !(node && typeof node === 'object' && 'items' in node)) break;
    const items = (node as { items: unknown[] }).items;
    let next: unknown;
    if (isMap(node)) {
      const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(key));
      if (!pair) break;
      offset = (pair.key as { range?: [number] }).range?.[0] ?? offset;
      next = pair.value;
      if (!atKey && next && typeof next === 'object' && 'range' in next) {
        offset = (next as { range: [number] }).range[0];
      }
    } else if (typeof key === 'number') {
      next = items[key];
      offset = (next as { range?: [number] })?.range?.[0] ?? offset;
    }
    if (next === undefined) break;
    node = next;
  }
  if (offset === 0 && path.length === 0) return { line: 1, col: 1 };
  return lines.linePos(offset);
}
