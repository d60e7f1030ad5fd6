// `check`: the verdict gate over the run records. It fails closed: on `not reproduced` and `failed` rows, on
// unreadable records, and when it has nothing to judge (a results directory that does not exist: bad input; one
// that holds no records of the suite: failed).
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { runsDir, suiteRunsDir } from '../results/layout.js';
import { collectReport, type Report } from '../results/tables.js';
import { FAILING_VERDICTS, verdictLabel } from '../results/verdict.js';
import { EXIT, InputError, act, processIO, subcommand, type CommandIO } from './common.js';

export interface CheckOptions {
  /** Results directory (default ./results in the working directory). */
  results?: string;
  /** One suite (a built-in name or a suite file); default every built-in suite. */
  suite?: string;
  generatedAt?: string;
  /** Print the outcome as JSON. */
  json?: boolean;
}

export interface CheckOutcome {
  /** 0 when no row is not reproduced or failed, every record was readable and there were records; 1 otherwise. */
  exitCode: number;
  text: string;
  report: Report;
  /** Why the gate failed, one line each (empty when it passed). */
  failures: string[];
}

/** A results directory that is not there is bad input: the message names it (a typo must not pass a CI job). */
export function requireResultsDir(dir: string, command: string): void {
  let st: fs.Stats;
  try {
    st = fs.statSync(dir);
  } catch {
    throw new InputError(`results directory ${dir} does not exist: nothing to ${command} (pass --results DIR, the --out of \`run\`)`);
  }
  if (!st.isDirectory()) throw new InputError(`--results ${dir} is not a directory`);
}

/** Records the report read (valid or not); zero means the gate saw no evidence. */
export function evidence(report: Report): number {
  const count = (c: Record<string, number>): number => Object.values(c).reduce((a, b) => a + b, 0);
  const seen = report.rows.reduce((n, r) => n + count(r.status.search) + count(r.status.eval), 0);
  return seen + report.unmatched.length + report.problems.length;
}

/** The gate: fails on `not reproduced` and `failed` rows and on unreadable records; proxy, incomplete, inconclusive and not run rows never fail. */
export function checkCommand(opts: CheckOptions = {}): CheckOutcome {
  const dir = path.resolve(opts.results ?? 'results');
  requireResultsDir(dir, 'check');
  const report = collectReport(dir, opts.suite, opts.generatedAt);
  const lines: string[] = [];
  const failures: string[] = [];
  const failed = report.rows.filter((r) => FAILING_VERDICTS.includes(r.verdict));
  for (const r of report.rows) {
    const mark = FAILING_VERDICTS.includes(r.verdict) ? 'FAIL' : r.verdict === 'reproduced' ? 'ok  ' : '-   ';
    lines.push(`${mark} ${r.suite}/${r.rowId}: ${verdictLabel(r)}: ${r.verdictBasis}`);
    if (FAILING_VERDICTS.includes(r.verdict)) failures.push(`${r.suite}/${r.rowId}: ${verdictLabel(r)}: ${r.verdictBasis}`);
  }
  for (const p of report.problems) {
    lines.push(`FAIL unreadable record: ${p}`);
    failures.push(`unreadable record: ${p}`);
  }
  for (const u of report.unmatched) lines.push(`warn ${u}`);
  if (evidence(report) === 0) {
    const where = opts.suite === undefined ? runsDir(dir) : suiteRunsDir(dir, report.suites[0].name);
    const msg = `no run records under ${where}: nothing to check (did the run write its records elsewhere, or not run?)`;
    lines.push(`FAIL ${msg}`);
    failures.push(msg);
  }
  const counts = new Map<string, number>();
  for (const r of report.rows) counts.set(r.verdict, (counts.get(r.verdict) ?? 0) + 1);
  lines.push(`check: ${[...counts].map(([v, n]) => `${n} ${v}`).join(', ')}; ${report.problems.length} unreadable record(s)`);
  const exitCode = failures.length > 0 ? EXIT.failed : EXIT.ok;
  const failing = FAILING_VERDICTS.map((v) => `${failed.filter((r) => r.verdict === v).length} ${v}`).join(', ');
  const nothing = evidence(report) === 0 ? '; no records' : '';
  lines.push(exitCode === EXIT.ok ? 'check: passed' : `check: FAILED (${failing}${failed.length ? `: ${failed.map((r) => `${r.suite}/${r.rowId}`).join(', ')}` : ''}; ${report.problems.length} unreadable${nothing})`);
  return { exitCode, text: `${lines.join('\n')}\n`, report, failures };
}

/** What `check --json` prints. */
export function checkJson(o: CheckOutcome): object {
  return {
    passed: o.exitCode === EXIT.ok,
    exitCode: o.exitCode,
    resultsDir: o.report.resultsDir,
    failures: o.failures,
    rows: o.report.rows.map((r) => ({ suite: r.suite, row: r.rowId, verdict: r.verdict, basis: r.verdictBasis })),
    unreadable: o.report.problems,
    unmatched: o.report.unmatched,
  };
}

export function register(program: Command, io: CommandIO = processIO): void {
  subcommand(program, 'check')
    .description(
      'exit non-zero when a row is not reproduced or failed (a run that did not end ok), naming them, when a record ' +
        'is unreadable, or when there are no records to judge; proxy, inconclusive, incomplete and not run rows alone never fail',
    )
    .option('--results <dir>', 'results directory', 'results')
    .option('--suite <name>', 'one suite; default: every built-in suite')
    .option('--json', 'print the outcome as JSON (passed, failures, rows)')
    .action(async function (this: Command, opts: { results: string; suite?: string; json?: boolean }) {
      await act(this, io, async () => {
        const out = checkCommand(opts);
        io.out(opts.json ? JSON.stringify(checkJson(out), null, 2) + '\n' : out.text);
        return out;
      });
    });
}
