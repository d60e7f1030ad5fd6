// `check`: the verdict gate over the run records: fails on `not reproduced` and `failed` rows and on unreadable records.
import path from 'node:path';
import type { Command } from 'commander';
import { collectReport, type Report } from '../results/tables.js';
import { FAILING_VERDICTS, verdictLabel } from '../results/verdict.js';
import { EXIT, act, processIO, subcommand, type CommandIO } from './common.js';

export interface CheckOptions {
  /** Results directory (default ./results in the working directory). */
  results?: string;
  /** One suite (a built-in name or a suite file); default every built-in suite. */
  suite?: string;
  generatedAt?: string;
}

export interface CheckOutcome {
  /** 0 when no row is not reproduced or failed and every record was readable; 1 otherwise. */
  exitCode: number;
  text: string;
  report: Report;
}

/** The gate: fails on `not reproduced` and `failed` rows and on unreadable records; proxy, incomplete, inconclusive and not run rows never fail. */
export function checkCommand(opts: CheckOptions = {}): CheckOutcome {
  const report = collectReport(path.resolve(opts.results ?? 'results'), opts.suite, opts.generatedAt);
  const lines: string[] = [];
  const failed = report.rows.filter((r) => FAILING_VERDICTS.includes(r.verdict));
  for (const r of report.rows) {
    const mark = FAILING_VERDICTS.includes(r.verdict) ? 'FAIL' : r.verdict === 'reproduced' ? 'ok  ' : '-   ';
    lines.push(`${mark} ${r.suite}/${r.rowId}: ${verdictLabel(r)}: ${r.verdictBasis}`);
  }
  for (const p of report.problems) lines.push(`FAIL unreadable record: ${p}`);
  for (const u of report.unmatched) lines.push(`warn ${u}`);
  const counts = new Map<string, number>();
  for (const r of report.rows) counts.set(r.verdict, (counts.get(r.verdict) ?? 0) + 1);
  lines.push(`check: ${[...counts].map(([v, n]) => `${n} ${v}`).join(', ')}; ${report.problems.length} unreadable record(s)`);
  const exitCode = failed.length > 0 || report.problems.length > 0 ? EXIT.failed : EXIT.ok;
  const failing = FAILING_VERDICTS.map((v) => `${failed.filter((r) => r.verdict === v).length} ${v}`).join(', ');
  lines.push(exitCode === EXIT.ok ? 'check: passed' : `check: FAILED (${failing}${failed.length ? `: ${failed.map((r) => `${r.suite}/${r.rowId}`).join(', ')}` : ''}; ${report.problems.length} unreadable)`);
  return { exitCode, text: `${lines.join('\n')}\n`, report };
}

export function register(program: Command, io: CommandIO = processIO): void {
  subcommand(program, 'check')
    .description('exit non-zero when a row is not reproduced or failed (a run that did not end ok), naming them; proxy, inconclusive, incomplete and not run rows never fail')
    .option('--results <dir>', 'results directory', 'results')
    .option('--suite <name>', 'one suite; default: every built-in suite')
    .action(async function (this: Command, opts: { results: string; suite?: string }) {
      await act(this, io, async () => {
        const out = checkCommand(opts);
        io.out(out.text);
        return out;
      });
    });
}
