// `check`: the verdict gate over the run records: fails on `not reproduced` rows and on unreadable records.
import path from 'node:path';
import type { Command } from 'commander';
import { collectReport, type Report } from '../results/tables.js';
import { EXIT, act, processIO, subcommand, type CommandIO } from './common.js';

export interface CheckOptions {
  /** Results directory (default ./results in the working directory). */
  results?: string;
  /** One suite (a built-in name or a suite file); default every built-in suite. */
  suite?: string;
  generatedAt?: string;
}

export interface CheckOutcome {
  /** 0 when no verdict target failed and every record was readable; 1 otherwise. */
  exitCode: number;
  text: string;
  report: Report;
}

/** The gate: fails on `not reproduced` rows and on unreadable records; proxy and not run rows never fail. */
export function checkCommand(opts: CheckOptions = {}): CheckOutcome {
  const report = collectReport(path.resolve(opts.results ?? 'results'), opts.suite, opts.generatedAt);
  const lines: string[] = [];
  const failed = report.rows.filter((r) => r.verdict === 'not reproduced');
  for (const r of report.rows) {
    const mark = r.verdict === 'not reproduced' ? 'FAIL' : r.verdict === 'reproduced' || r.verdict === 'within tolerance' ? 'ok  ' : '-   ';
    lines.push(`${mark} ${r.suite}/${r.rowId}: ${r.verdict}: ${r.verdictBasis}`);
  }
  for (const p of report.problems) lines.push(`FAIL unreadable record: ${p}`);
  for (const u of report.unmatched) lines.push(`warn ${u}`);
  const counts = new Map<string, number>();
  for (const r of report.rows) counts.set(r.verdict, (counts.get(r.verdict) ?? 0) + 1);
  lines.push(`check: ${[...counts].map(([v, n]) => `${n} ${v}`).join(', ')}; ${report.problems.length} unreadable record(s)`);
  const exitCode = failed.length > 0 || report.problems.length > 0 ? EXIT.failed : EXIT.ok;
  lines.push(exitCode === EXIT.ok ? 'check: passed' : `check: FAILED (${failed.length} not reproduced, ${report.problems.length} unreadable)`);
  return { exitCode, text: `${lines.join('\n')}\n`, report };
}

export function register(program: Command, io: CommandIO = processIO): void {
  subcommand(program, 'check')
    .description('exit non-zero when a paper target with a verdict is not reproduced (proxy and not run rows never fail)')
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
