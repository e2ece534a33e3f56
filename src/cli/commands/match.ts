import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { FilterFileError, readFilterFile } from '../../config/fail2ban/filter-file.js';
import { nodeFilterFs } from '../../config/fail2ban/filter-fs.js';
import { Fail2banFilter, FilterCompileError, type FilterDefinition } from '../../core/fail2ban/filter.js';
import { journalOutputLine } from '../../core/journal.js';
import { grantableAddress } from '../../sources/logwatch/source.js';
import { CliError } from '../cli-error.js';

export interface MatchOptions {
  readonly filter?: string;
  readonly mode?: string;
  readonly logtype?: string;
  readonly match?: readonly string[];
  readonly ignore?: readonly string[];
  readonly json?: boolean;
}

/** The filter a `sesame match` run uses: a filter.d file (with options) or `--match` regexes. */
export function matchFilter(o: MatchOptions, backend?: 'file' | 'journal'): Fail2banFilter {
  if (!o.filter === !(o.match && o.match.length > 0))
    throw new CliError('E_USAGE', 'match needs exactly one of --filter FILE and --match REGEX', 2);
  let def: FilterDefinition;
  try {
    if (o.filter) {
      const options: Record<string, string> = {};
      if (o.mode) options.mode = o.mode;
      if (o.logtype) options.logtype = o.logtype;
      const file = readFilterFile(o.filter, options, nodeFilterFs, backend);
      def = { ...file, ignoreregex: [...file.ignoreregex, ...(o.ignore ?? [])] };
    } else def = { failregex: [...(o.match ?? [])], ignoreregex: [...(o.ignore ?? [])] };
    return new Fail2banFilter(def);
  } catch (err) {
    if (err instanceof FilterFileError || err instanceof FilterCompileError)
      throw new CliError('E_BAD_FILTER', `${o.filter ?? '--match'}: ${err.message}`, 2);
    throw err;
  }
}

/**
 * `sesame match LOGFILE (--filter FILE [--mode M] | --match REGEX) [--json]`, what
 * fail2ban-regex is for fail2ban: each matching line's number and host (JSON lines with
 * --json), then a summary (on stderr with --json). Reads the file once, line by line.
 */
export async function matchCommand(
  logFile: string,
  o: MatchOptions,
  out: (text: string) => void,
  err: (text: string) => void,
): Promise<void> {
  matchFilter(o); // a bad filter or option is refused before the file is opened
  const stream = createReadStream(logFile, { encoding: 'utf8' });
  const opened = new Promise<void>((resolve, reject) => {
    stream.once('open', () => resolve());
    stream.once('error', reject);
  });
  try {
    await opened;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? String(e);
    throw new CliError('E_NO_FILE', `cannot read ${logFile}: ${code}`, 2);
  }
  let lines = 0;
  let matched = 0;
  let grantable = 0;
  const hosts = new Set<string>();
  let filter: Fail2banFilter | undefined;
  let journal = o.logtype === 'journal';
  for await (const line of createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY })) {
    lines++;
    if (!filter) {
      // `journalctl -o json` output is journal input: its filter reads journal lines, as fail2ban's
      // systemd backend sets logtype=journal
      journal ||= line.startsWith('{') && journalOutputLine(line) !== line;
      filter = matchFilter(o, journal ? 'journal' : undefined);
    }
    // a journal line's date is the journal's: journalctl's timestamp is cut and no date is looked
    // for in the message (a date inside it is the filter's to match, as in fail2ban)
    const failure = journal
      ? filter.processLine(journalOutputLine(line), { dateKnown: true })[0]
      : filter.processLine(line)[0];
    if (!failure) continue;
    matched++;
    const address = grantableAddress(failure);
    const host = address ?? failure.host ?? failure.id;
    if (address) {
      grantable++;
      hosts.add(address);
    }
    if (o.json) out(`${JSON.stringify({ line: lines, host })}\n`);
    else out(`${lines} ${host}${address ? '' : '  (not an address: a door grants nothing for it)'}\n`);
  }
  const summary = `${logFile}: ${lines} lines, ${matched} matched, ${grantable} with an address (${hosts.size} distinct)\n`;
  if (o.json) err(summary);
  else out(summary);
}
