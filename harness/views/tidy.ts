// Tidy data: one row per run (suite, row, method, seed, phase, status, every metric, every cost figure, the
// machine), as CSV and JSON Lines next to the tables, so pandas or R can plot without parsing our nested JSON:
//   pandas.read_csv("results/tables/all.runs.csv")      readr::read_csv("results/tables/all.runs.csv")
//   pandas.read_json("results/tables/all.runs.jsonl", lines=True)
import { stringify } from 'csv-stringify/sync';
import { writeFileAtomicAsync } from '../../nas/util/fs.js';
import { tidyFiles } from '../results/layout.js';
import type { RecordSet } from '../results/store.js';
import type { Report } from '../results/tables.js';
import { TIDY_COLUMNS, tidyRuns, type TidyRun } from './adapter.js';

export function tidyCsv(rows: TidyRun[]): string {
  return stringify(rows.map((r) => Object.fromEntries(TIDY_COLUMNS.map((c) => [c, r[c] === undefined ? '' : String(r[c])]))), {
    header: true, columns: [...TIDY_COLUMNS],
  });
}

/** JSON Lines: one object per run, every column present (null where a run has no value). */
export function tidyJsonl(rows: TidyRun[]): string {
  return rows.map((r) => JSON.stringify(Object.fromEntries(TIDY_COLUMNS.map((c) => [c, r[c] ?? null])))).join('\n') + (rows.length ? '\n' : '');
}

/** Write <results>/tables/<suite|all>.runs.csv and .runs.jsonl atomically; returns the paths. */
export async function writeTidy(set: RecordSet, report: Report, resultsDir: string, suite: string | undefined): Promise<{ csv: string; jsonl: string; rows: number }> {
  const rows = tidyRuns(set, report);
  const { csv, jsonl } = tidyFiles(resultsDir, suite);
  await writeFileAtomicAsync(csv, tidyCsv(rows));
  await writeFileAtomicAsync(jsonl, tidyJsonl(rows));
  return { csv, jsonl, rows: rows.length };
}
