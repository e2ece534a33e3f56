/**
 * What a log follower does next, decided from what it has open and what the path is now
 * (pure, so logrotate's cases are unit-tested without files). Like `tail -F`:
 * - at start the file is read from its end: old lines are never replayed;
 * - rename + create (logrotate default, then `nginx -s reopen`): finish the old file, then
 *   read the new one from its start;
 * - copytruncate: the same file shrank, read again from its start;
 * - missing file: wait for it; a file that appears later is new, read from its start.
 */

export interface FileIdentity {
  readonly dev: number;
  readonly ino: number;
  readonly size: number;
}

export interface OpenFile {
  readonly dev: number;
  readonly ino: number;
  /** Next byte to read. */
  readonly position: number;
}

export type FollowStep =
  | { readonly kind: 'wait' }
  | { readonly kind: 'open'; readonly from: 'start' | 'end' }
  | { readonly kind: 'read' }
  | { readonly kind: 'truncated' }
  /** The path now names another file: drain the open one, then open the new one from its start. */
  | { readonly kind: 'replaced' };

/**
 * @param open the file being read, or null
 * @param atPath what `stat(path)` says now, or null when the path doesn't exist
 * @param openSize the open file's current size (fstat), to see whether unread data remains
 * @param starting true until the first file was opened
 */
export function followStep(
  open: OpenFile | null,
  atPath: FileIdentity | null,
  openSize: number,
  starting: boolean,
): FollowStep {
  if (!open) {
    if (!atPath) return { kind: 'wait' };
    return { kind: 'open', from: starting ? 'end' : 'start' };
  }
  const same = atPath !== null && atPath.dev === open.dev && atPath.ino === open.ino;
  if (same) {
    if (openSize < open.position) return { kind: 'truncated' };
    return openSize > open.position ? { kind: 'read' } : { kind: 'wait' };
  }
  // renamed away: the writer may still append to the old file until it reopens its log
  if (openSize > open.position) return { kind: 'read' };
  return atPath ? { kind: 'replaced' } : { kind: 'wait' };
}
