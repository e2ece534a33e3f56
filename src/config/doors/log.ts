import { z } from 'zod';
import { Fail2banFilter, type FilterDefinition, FilterCompileError } from '../../core/fail2ban/filter.js';
import { FilterFileError, readFilterFile } from '../fail2ban/filter-file.js';
import { nodeFilterFs } from '../fail2ban/filter-fs.js';
import { duration, parsed } from '../schema.js';
import { doorBase, doorBaseFields, type DoorKind, needsOpenOrRun } from './kind.js';

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
const filterFile = parsed<FilterDefinition>((v) => {
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
  let def: FilterDefinition;
  try {
    def = readFilterFile(file, options, nodeFilterFs);
  } catch (err) {
    if (err instanceof FilterFileError) return `fail2ban filter ${file}: ${err.message}`;
    const e = err as NodeJS.ErrnoException;
    return `cannot read fail2ban filter ${file}: ${e.code ?? e.message}`;
  }
  const problem = compileProblem(def);
  return problem ? `fail2ban filter ${file}: ${problem}` : def;
});

const logWatch = z
  .strictObject({
    file: z.string().min(1, 'expected the path of the log file to watch'),
    match: regexList.optional(),
    filter: filterFile.optional(),
    ignore: regexList.optional(),
    maxretry: z.number().int().min(1).max(1000).default(1),
    findtime: duration('findtime').default(600_000),
  })
  .superRefine((w, ctx) => {
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
  });

export const logDoorSchema = z
  .strictObject({
    log: logWatch,
    ...doorBaseFields(120_000),
  })
  .superRefine(needsOpenOrRun);

/** fail2ban-style web knock: `log: {file: /var/log/nginx/access.log, match: '^<HOST> -.*"GET /ssh'}`. */
export const logKind: DoorKind = {
  key: 'log',
  schema: logDoorSchema,
  pathFields: [
    ['log', 'file'],
    ['log', 'filter'],
    ['log', 'filter', 'file'],
  ],
  build(name, d: z.infer<typeof logDoorSchema>, defaults) {
    const filter = d.log.filter;
    return {
      kind: 'log',
      ...doorBase(name, d, defaults),
      log: {
        file: d.log.file,
        failregex: d.log.match ?? filter?.failregex ?? [],
        ignoreregex: [...(filter?.ignoreregex ?? []), ...(d.log.ignore ?? [])],
        ...(filter?.prefregex ? { prefregex: filter.prefregex } : {}),
        ...(filter?.datepattern !== undefined ? { datepattern: filter.datepattern } : {}),
        ...(filter?.maxlines !== undefined ? { maxlines: filter.maxlines } : {}),
        ...(filter?.usedns !== undefined ? { usedns: filter.usedns } : {}),
        maxRetry: d.log.maxretry,
        findTimeMs: d.log.findtime,
      },
    };
  },
};
