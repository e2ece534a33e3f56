import { z } from 'zod';
import { Fail2banFilter, type FilterDefinition, FilterCompileError } from '../../core/fail2ban/filter.js';
import { journalMatchProblem, splitJournalMatch, unitMatch } from '../../core/journal.js';
import { type FilterFile, FilterFileError, readFilterFile } from '../fail2ban/filter-file.js';
import { nodeFilterFs } from '../fail2ban/filter-fs.js';
import { duration, parsed } from '../schema.js';
import { DEFAULT_MAX_LOG_LINE, MAX_LOG_LINE_CAP } from '../../core/door.js';
import { failregexWarnings } from '../../core/fail2ban/regex-lint.js';
import { doorBase, doorBaseFields, type DoorKind, type DoorWarning, needsOpenOrRun } from './kind.js';

/** The reason a filter definition can't run, or null. */
function compileProblem(def: FilterDefinition, named = true): string | null {
  try {
    new Fail2banFilter(def);
    return null;
  } catch (err) {
    if (err instanceof FilterCompileError) {
      const where = named ? `${err.key} ${JSON.stringify(err.regexSource)}: ` : '';
      return /no failure-id/.test(err.message)
        ? `${where}a failregex needs <HOST> (or <ADDR>, <IP4>, <IP6>, <F-ID>) where the address is`
        : `${where}${err.message.slice(err.message.indexOf(': ') + 2)}`;
    }
    throw err;
  }
}

const regexList = z
  .union([z.string().min(1), z.array(z.string().min(1)).min(1)])
  .transform((v) => (typeof v === 'string' ? [v] : v));

/**
 * `filter: /etc/fail2ban/filter.d/x.conf` or `filter: {file: ..., mode: aggressive, logtype: ...}`:
 * read at load time as fail2ban reads it (includes, .local files, [Init], options, tags).
 */
/** A filter as read, with what it was read from (a journal door reads it again as journal lines). */
type ReadFilter = FilterFile & { readonly source: { file: string; options: Record<string, string> } };

/** Reads and compiles a filter, or the reason it can't run. */
function loadFilter(file: string, options: Record<string, string>, backend?: 'journal'): ReadFilter | string {
  let def: FilterFile;
  try {
    def = readFilterFile(file, options, nodeFilterFs, backend);
  } catch (err) {
    if (err instanceof FilterFileError) return `fail2ban filter ${file}: ${err.message}`;
    const e = err as NodeJS.ErrnoException;
    return `cannot read fail2ban filter ${file}: ${e.code ?? e.message}`;
  }
  const problem = compileProblem(def);
  return problem ? `fail2ban filter ${file}: ${problem}` : { ...def, source: { file, options } };
}

const filterFile = parsed<ReadFilter>((v) => {
  let file: unknown = v;
  let options: Record<string, string> = {};
  if (v && typeof v === 'object' && !Array.isArray(v)) {
    const { file: f, ...rest } = v as Record<string, unknown>;
    file = f;
    for (const [k, value] of Object.entries(rest)) {
      if (typeof value !== 'string' && typeof value !== 'number')
        return `filter option ${k}: expected a string like "aggressive", got ${JSON.stringify(value)}`;
      options[k] = String(value);
    }
    options = Object.fromEntries(Object.entries(options));
  }
  if (typeof file !== 'string' || file === '')
    return 'expected the path of a fail2ban filter.d/*.conf file, or {file: PATH, mode: ..., logtype: ...}';
  return loadFilter(file, options);
});

/**
 * `journal: {unit: ssh.service}` or `journal: {match: [_SYSTEMD_UNIT=ssh.service, ...]}`; with
 * neither (`journal: {}`), the `journalmatch` of the door's fail2ban filter.
 */
const journalSource = z
  .strictObject({
    unit: z
      .string()
      .regex(/^[A-Za-z0-9:_.@\\-]+$/, 'expected a systemd unit name like ssh.service')
      .optional(),
    match: z
      .union([z.string().min(1), z.array(z.string().min(1)).min(1)])
      .transform((v) => (typeof v === 'string' ? splitJournalMatch(v) : v))
      .optional(),
  })
  .superRefine((j, ctx) => {
    if (j.unit !== undefined && j.match !== undefined)
      ctx.addIssue({ code: 'custom', message: 'give `unit` or `match`, not both' });
    j.match?.forEach((m, i) => {
      const p = journalMatchProblem(m);
      if (p) ctx.addIssue({ code: 'custom', path: ['match', i], message: p });
    });
  });

const logWatch = z
  .strictObject({
    file: z.string().min(1, 'expected the path of the log file to watch').optional(),
    journal: journalSource.optional(),
    match: regexList.optional(),
    filter: filterFile.optional(),
    ignore: regexList.optional(),
    maxretry: z.number().int().min(1).max(1000).default(1),
    findtime: duration('findtime').default(600_000),
    max_line: z.number().int().min(256).max(MAX_LOG_LINE_CAP).default(DEFAULT_MAX_LOG_LINE),
  })
  .superRefine((w, ctx) => {
    if ((w.file === undefined) === (w.journal === undefined)) {
      ctx.addIssue({
        code: 'custom',
        message: 'give exactly one of `file` (a log file) or `journal` (the systemd journal, e.g. {unit: ssh.service})',
      });
      return;
    }
    if (w.journal && w.journal.unit === undefined && w.journal.match === undefined) {
      const jm = w.filter?.journalmatch;
      if (jm === undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['journal'],
          message: w.filter
            ? 'the fail2ban filter has no journalmatch: give `unit` (like ssh.service) or `match`'
            : 'give `unit` (like ssh.service) or `match` (like _SYSTEMD_UNIT=ssh.service)',
        });
        return;
      }
      for (const m of splitJournalMatch(jm)) {
        const p = journalMatchProblem(m);
        if (p) {
          ctx.addIssue({ code: 'custom', path: ['filter'], message: `journalmatch: ${p}` });
          return;
        }
      }
    }
    if ((w.match === undefined) === (w.filter === undefined)) {
      ctx.addIssue({
        code: 'custom',
        message: 'give exactly one of `match` (a failregex) or `filter` (a fail2ban filter file)',
      });
      return;
    }
    if (w.match) {
      w.match.forEach((source, i) => {
        const p = compileProblem({ failregex: [source], ignoreregex: [] }, false);
        if (p)
          ctx.addIssue({ code: 'custom', path: ['match', ...(w.match && w.match.length > 1 ? [i] : [])], message: p });
      });
    }
    w.ignore?.forEach((source, i) => {
      const p = compileProblem({ failregex: ['<HOST>'], ignoreregex: [source] }, false);
      if (p)
        ctx.addIssue({ code: 'custom', path: ['ignore', ...(w.ignore && w.ignore.length > 1 ? [i] : [])], message: p });
    });
  })
  .transform((w, ctx) => {
    // a journal door reads its filter with logtype=journal unless the door or the filter names one
    // (fail2ban's systemd backend): journal prefixes, dates inside the message
    if (!w.journal || !w.filter) return w;
    const again = loadFilter(w.filter.source.file, w.filter.source.options, 'journal');
    if (typeof again === 'string') {
      ctx.addIssue({ code: 'custom', path: ['filter'], message: `with logtype=journal: ${again}` });
      return z.NEVER;
    }
    return { ...w, filter: again };
  });

export const logDoorSchema = z
  .strictObject({
    log: logWatch,
    ...doorBaseFields(120_000),
  })
  .superRefine(needsOpenOrRun);

/** The journalctl matches of a journal door: its unit, its matches, or its filter's journalmatch. */
function journalMatches(j: { unit?: string; match?: string[] }, filter: FilterFile | undefined): string[] {
  if (j.unit !== undefined) return [unitMatch(j.unit)];
  return j.match ?? splitJournalMatch(filter?.journalmatch ?? '');
}

/** fail2ban-style web knock: `log: {file: /var/log/nginx/access.log, match: '^<HOST> -.*"GET /ssh'}`. */
export const logKind: DoorKind = {
  key: 'log',
  schema: logDoorSchema,
  pathFields: [
    ['log', 'file'],
    ['log', 'filter'],
    ['log', 'filter', 'file'],
  ],
  warnings(d: z.infer<typeof logDoorSchema>): DoorWarning[] {
    const out: DoorWarning[] = [];
    const filter = d.log.filter;
    if (d.log.match) {
      const several = d.log.match.length > 1;
      d.log.match.forEach((source, i) => {
        for (const w of failregexWarnings(source))
          out.push({ path: ['log', 'match', ...(several ? [i] : [])], message: `the failregex ${w.text}` });
      });
    } else if (filter) {
      filter.failregex.forEach((source, i) => {
        for (const w of failregexWarnings(source))
          out.push({
            path: ['log', 'filter'],
            message: `the fail2ban filter's failregex ${i + 1} of ${filter.failregex.length} ${w.text}`,
          });
      });
    }
    return out;
  },
  build(name, d: z.infer<typeof logDoorSchema>, defaults) {
    const filter = d.log.filter;
    return {
      kind: 'log',
      ...doorBase(name, d, defaults),
      log: {
        ...(d.log.file !== undefined ? { file: d.log.file } : {}),
        ...(d.log.journal ? { journal: journalMatches(d.log.journal, filter) } : {}),
        failregex: d.log.match ?? filter?.failregex ?? [],
        ignoreregex: [...(filter?.ignoreregex ?? []), ...(d.log.ignore ?? [])],
        ...(filter?.prefregex ? { prefregex: filter.prefregex } : {}),
        ...(filter?.datepattern !== undefined ? { datepattern: filter.datepattern } : {}),
        ...(filter?.maxlines !== undefined ? { maxlines: filter.maxlines } : {}),
        ...(filter?.usedns !== undefined ? { usedns: filter.usedns } : {}),
        maxRetry: d.log.maxretry,
        findTimeMs: d.log.findtime,
        maxLine: d.log.max_line,
      },
    };
  },
};
