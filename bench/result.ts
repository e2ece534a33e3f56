/** What every scenario returns: one object per scenario and tool, with its figures. */
export interface BenchResult {
  readonly scenario: string;
  readonly tool: string;
  readonly figures: Record<string, unknown>;
  readonly notes?: readonly string[];
  /** Knock → connected milliseconds of every try that opened, for the latency plot. */
  readonly samples?: readonly number[];
}

export interface BenchContext {
  readonly quick: boolean;
  /** Tools to run (knockd is dropped when it is not installed). */
  readonly tools: readonly ('sesame' | 'knockd')[];
  /** Progress lines, to stderr. */
  log(line: string): void;
}

export type Scenario = (ctx: BenchContext) => Promise<BenchResult[]>;
