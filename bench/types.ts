/**
 * One line of `npm run bench`: a figure beside its baseline measured in the same run.
 * `ratio` is value / baseline; `better` says which direction is good, so the table can
 * show whether the goal was met.
 */
export interface BenchResult {
  name: string;
  unit: string;
  value: number;
  baseline: number | null;
  ratio: number | null;
  better: 'higher' | 'lower';
  /** The goal as text, e.g. ">= 0.9x raw" or "< 200 ms". */
  goal?: string;
  /** Whether the goal was met in this run (omitted when there is no goal). */
  met?: boolean;
  /** What the baseline is, e.g. "raw better-sqlite3 insert, same schema and pragmas". */
  baselineName?: string;
}

/** A bench module: `bench/<name>.bench.ts` default-exports one of these. */
export type BenchModule = (options: { quick: boolean }) => Promise<BenchResult[]>;
