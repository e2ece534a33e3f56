import { randomBytes } from 'node:crypto';
import {
  closeSync,
  constants,
  fstatSync,
  fsyncSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  renameSync,
  type Stats,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { SesameError } from '../core/sesame-error.js';

/** The state folder or a file in it is unsafe to trust; the message says how to fix it. */
export class StateDirError extends SesameError {
  static override readonly code = 'E_STATE';
  override readonly name = 'StateDirError';
}

const uid = () => process.getuid?.() ?? 0;
const who = (id: number) => (id === 0 ? 'root' : `uid ${id}`);

/**
 * Why `st` (at `path`) can't be trusted, or null. sesame runs commands recorded in its state
 * (`run.stop`), so only sesame's own user may be able to write there: the path must belong to
 * that user (root, normally) and be writable by no group and no other user.
 */
export function untrusted(path: string, st: Stats, kind: 'folder' | 'file'): string | null {
  if (st.isSymbolicLink()) return `${path} is a symlink; state files must be plain files: remove it`;
  if (kind === 'folder' && !st.isDirectory()) return `${path} is not a folder`;
  // the control socket lives here too (a unix socket, mode 0600)
  if (kind === 'file' && !st.isFile() && !st.isDirectory() && !st.isSocket())
    return `${path} is not a plain file: remove it`;
  if (st.uid !== uid())
    return `${path} is owned by ${who(st.uid)}, not by ${who(uid())} (sesame's user): chown ${uid()}:${process.getgid?.() ?? 0} ${path}`;
  if (st.mode & 0o022)
    return `${path} is writable by ${st.mode & 0o002 ? 'every user' : 'its group'}: chmod ${kind === 'folder' ? '700' : 'go-w'} ${path}`;
  return null;
}

/**
 * Creates the state folder (mode 0700) if it is missing, then refuses it when it or any
 * entry in it could have been written by someone else. Throws StateDirError.
 */
export function prepareStateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const problems: string[] = [];
  const folder = untrusted(dir, lstatSync(dir), 'folder');
  if (folder) problems.push(folder);
  else
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      const why = untrusted(path, lstatSync(path), 'file');
      if (why) problems.push(why);
    }
  if (problems.length)
    throw new StateDirError(
      `refusing the state folder (--state-dir ${dir}): commands recorded there run as ${who(uid())}, so no one else may write there:\n  ${problems.join('\n  ')}`,
    );
}

/**
 * Replaces `dir/name` with `text` atomically: a temporary file with an unpredictable name,
 * created exclusively (O_EXCL, never following a symlink), synced, then renamed over.
 */
export function writeFileAtomic(dir: string, name: string, text: string): void {
  const tmp = join(dir, `.${name}.${randomBytes(8).toString('hex')}.tmp`);
  const fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } catch (err) {
    closeSync(fd);
    unlinkSync(tmp);
    throw err;
  } finally {
    try {
      closeSync(fd);
    } catch {}
  }
  renameSync(tmp, join(dir, name));
}

/** Opens `path` for appending (created 0600 if missing, never through a symlink) and checks its owner. */
export function openAppend(path: string): number {
  const fd = openSync(path, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW, 0o600);
  const why = untrusted(path, fstatSync(fd), 'file');
  if (why) {
    closeSync(fd);
    throw new StateDirError(`refusing ${why}`);
  }
  return fd;
}
