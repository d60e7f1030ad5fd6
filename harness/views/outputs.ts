// Every file `report` and `run` write under <results>/tables/ for one suite (or all): the tables (md, csv, json) and
// the tidy data (one row per run as CSV and JSON Lines). The HTML page is separate (html.ts): it reads them all.
import { writeTables, type TableFormat } from '../results/render.js';
import { readRecords } from '../results/store.js';
import { collectReport, type Report } from '../results/tables.js';
import { writeTidy } from './tidy.js';

export interface Outputs {
  report: Report;
  /** The three table files. */
  written: Record<TableFormat, string>;
  /** The tidy data next to them. */
  tidy: { csv: string; jsonl: string; rows: number };
}

/** Build the report of `suite` (a name or suite file; undefined: every built-in suite) and write its files. */
export async function writeOutputs(resultsDir: string, suite?: string, generatedAt?: string): Promise<Outputs> {
  const report = collectReport(resultsDir, suite, generatedAt);
  const name = suite === undefined ? undefined : report.suites[0].name;
  const written = await writeTables(report, resultsDir, name);
  const tidy = await writeTidy(readRecords(resultsDir, name), report, resultsDir, name);
  return { report, written, tidy };
}

export function outputFiles(o: Outputs): string[] {
  return [o.written.md, o.written.csv, o.written.json, o.tidy.csv, o.tidy.jsonl];
}
