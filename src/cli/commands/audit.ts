import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type AuditAnchor, type AuditLine, parseLine, verifyChain } from '../../core/audit-chain.js';
import { parseDuration } from '../../core/duration.js';
import { AUDIT_ANCHOR, AUDIT_FILE, readAnchor } from '../../daemon/audit-log.js';
import { CliError } from '../cli-error.js';

export interface AuditOptions {
  readonly stateDir: string;
  readonly user?: string;
  readonly door?: string;
  /** `1h`, `30m`: only lines this recent. */
  readonly since?: string;
  readonly json?: boolean;
}

/** `sesame audit`: the audit log's lines, filtered; `sesame audit verify`: checks the chain. */
export function audit(what: string | undefined, opts: AuditOptions, now = Date.now()): string {
  const text = readLog(opts.stateDir);
  if (what === 'verify') return verify(text, opts.stateDir);
  if (what !== undefined) throw new CliError('E_USAGE', `unknown audit command "${what}"; expected verify`, 2);
  const sinceMs = opts.since === undefined ? null : parseDuration(opts.since);
  if (sinceMs === null && opts.since !== undefined)
    throw new CliError('E_USAGE', `bad --since ${JSON.stringify(opts.since)}; expected e.g. 1h, 30m, 2d`, 2);
  const from = sinceMs === null ? -Infinity : now - sinceMs;
  const lines = text
    .split('\n')
    .filter(Boolean)
    .map((t) => ({ t, rec: parseLine(t) }))
    .filter(
      ({ rec }) =>
        rec &&
        (!opts.user || rec.user === opts.user) &&
        (!opts.door || rec.door === opts.door) &&
        Date.parse(rec.time) >= from,
    );
  if (opts.json) return lines.map(({ t }) => t).join('\n');
  return lines.map(({ rec }) => formatLine(rec!)).join('\n') || '(no audit lines match)';
}

function verify(text: string, dir: string): string {
  let anchor: AuditAnchor | null;
  try {
    anchor = readAnchor(dir);
  } catch (err) {
    // an anchor that can't be read is a finding too: it is what proves the tail
    throw new CliError('E_AUDIT', `${join(dir, AUDIT_ANCHOR)} is damaged (${(err as Error).message})`, 1);
  }
  const result = verifyChain(text.split('\n'), anchor);
  if (!result.ok) throw new CliError('E_AUDIT', `${join(dir, AUDIT_FILE)}: ${result.problem}`, 1);
  const tail = result.unanchored > 0 ? ` (the last ${result.unanchored} written after the anchor)` : '';
  return `audit log intact: ${result.lines} line(s), last seq ${result.last?.seq ?? 0}${tail}`;
}

function readLog(dir: string): string {
  const path = join(dir, AUDIT_FILE);
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new CliError('E_AUDIT', `no audit log at ${path} (sesame serve writes it)`, 1);
    throw new CliError('E_AUDIT', `cannot read ${path}: ${code ?? (err as Error).message}`, 1);
  }
}

/** `2026-12-03T10:00:00.000Z open door=ssh address=198.18.0.10 via=knock node=a`, fields that are set. */
function formatLine(r: AuditLine): string {
  const fields = (['door', 'address', 'user', 'via', 'reason', 'count', 'expires', 'node'] as const)
    .filter((k) => r[k] !== undefined)
    .map((k) => `${k}=${r[k]}`);
  if (r.ports?.length) fields.splice(2, 0, `ports=${r.ports.join(',')}`);
  return `${r.time} ${r.event} ${fields.join(' ')}`;
}
