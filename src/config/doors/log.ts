import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import { readFilter } from '../fail2ban/filter-file.js';
import { compileFailregex } from '../../core/failregex.js';
import { duration, grantFields, needsOpenOrRun, parsed } from '../schema.js';
import type { DoorKind } from './kind.js';

const regexList = (requireHost: boolean) =>
  z
    .union([z.string().min(1), z.array(z.string().min(1)).min(1)])
    .transform((v) => (typeof v === 'string' ? [v] : v))
    .superRefine((list, ctx) => {
      list.forEach((source, i) => {
        const r = compileFailregex(source, requireHost);
        if (typeof r === 'string') ctx.addIssue({ code: 'custom', path: list.length > 1 ? [i] : [], message: r });
      });
    });

/** `filter: /etc/fail2ban/filter.d/x.conf`, read at load time like fail2ban does. */
const filterFile = parsed((v) => {
  if (typeof v !== 'string' || v === '') return 'expected the path of a fail2ban filter.d/*.conf file';
  let text: string;
  try {
    text = readFileSync(v, 'utf8');
  } catch (err) {
    return `cannot read fail2ban filter ${v}: ${(err as NodeJS.ErrnoException).code ?? err}`;
  }
  const r = readFilter(text, (name) => {
    try {
      return readFileSync(join(dirname(v), name), 'utf8');
    } catch {
      return null;
    }
  });
  if (typeof r === 'string') return `fail2ban filter ${v}: ${r}`;
  for (const [key, list, host] of [
    ['failregex', r.failregex, true],
    ['ignoreregex', r.ignoreregex, false],
  ] as const) {
    for (const source of list) {
      const c = compileFailregex(source, host);
      if (typeof c === 'string') return `fail2ban filter ${v}: ${key} ${JSON.stringify(source)}: ${c}`;
    }
  }
  return r;
});

const logWatch = z
  .strictObject({
    file: z.string().min(1, 'expected the path of the log file to watch'),
    match: regexList(true).optional(),
    filter: filterFile.optional(),
    ignore: regexList(false).optional(),
    maxretry: z.number().int().min(1).max(1000).default(1),
    findtime: duration('findtime').default(600_000),
  })
  .superRefine((w, ctx) => {
    if ((w.match === undefined) === (w.filter === undefined)) {
      ctx.addIssue({
        code: 'custom',
        message: 'give exactly one of `match` (a failregex) or `filter` (a fail2ban filter file)',
      });
    }
  });

export const logDoorSchema = z
  .strictObject({
    log: logWatch,
    ...grantFields(120_000),
  })
  .superRefine(needsOpenOrRun);

/** fail2ban-style web knock: `log: {file: /var/log/nginx/access.log, match: '^<HOST> -.*"GET /ssh'}`. */
export const logKind: DoorKind = {
  key: 'log',
  schema: logDoorSchema,
  pathFields: [
    ['log', 'file'],
    ['log', 'filter'],
  ],
  build(name, d: z.infer<typeof logDoorSchema>, defaults) {
    const filter = d.log.filter as { failregex: string[]; ignoreregex: string[] } | undefined;
    return {
      kind: 'log',
      name,
      log: {
        file: d.log.file,
        failregex: d.log.match ?? filter?.failregex ?? [],
        ignoreregex: [...(filter?.ignoreregex ?? []), ...(d.log.ignore ?? [])],
        maxRetry: d.log.maxretry,
        findTimeMs: d.log.findtime,
      },
      open: d.open ?? [],
      forMs: d.for,
      reply: d.reply,
      interface: d.interface ?? defaults.interface,
      run: d.run,
    };
  },
};
