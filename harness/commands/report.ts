// `report`: tables from the run records (harness/results), printed in one format and written in all three.
// It warns (stderr) when it sees no evidence: a results directory that does not exist (then nothing is written,
// so a typo does not create a directory of `not run` tables), no records, or unreadable records.
import fs from 'node:fs';
import path from 'node:path';
import { runsDir } from '../results/layout.js';
import { Option, type Command } from 'commander';
import { render, writeTables, type TableFormat } from '../results/render.js';
import { collectReport, type Report } from '../results/tables.js';
import { EXIT, act, processIO, subcommand, type CommandIO } from './common.js';

export interface ReportOptions {
  /** Results directory (default ./results in the working directory). */
  results?: string;
  /** One suite (a built-in name or a suite file); default every built-in suite. */
  suite?: string;
  format?: TableFormat;
  /** Timestamp written into the tables (tests pin it). */
  generatedAt?: string;
}

export interface ReportOutcome {
  report: Report;
  /** The table in the requested format (what the CLI prints). */
  output: string;
  /** The three files written under <results>/tables/ (absent when the results directory does not exist). */
  written?: Record<TableFormat, string>;
  /** What the tables cannot show, one line each (printed on stderr as `warning: …`). */
  warnings: string[];
}

/** Build the tables, write md/csv/json under <results>/tables/ (all.* or <suite>.*), return the chosen format. */
export async function reportCommand(opts: ReportOptions = {}): Promise<ReportOutcome> {
  const dir = path.resolve(opts.results ?? 'results');
  const exists = fs.existsSync(dir);
  const report = collectReport(dir, opts.suite, opts.generatedAt);
  const warnings: string[] = [];
  if (!exists) warnings.push(`results directory ${dir} does not exist: every row is \`not run\`; no tables written (pass --results DIR)`);
  else if (report.problems.length === 0 && report.unmatched.length === 0 && report.rows.every((r) => Object.values(r.status.search).every((n) => n === 0) && Object.values(r.status.eval).every((n) => n === 0))) {
    warnings.push(`no run records under ${runsDir(dir)}: every row is \`not run\``);
  }
  for (const p of report.problems) warnings.push(`unreadable record, left out of the tables: ${p}`);
  const written = exists ? await writeTables(report, dir, opts.suite === undefined ? undefined : report.suites[0].name) : undefined;
  return { report, output: render(report, opts.format ?? 'md'), written, warnings };
}

export function register(program: Command, io: CommandIO = processIO): void {
  subcommand(program, 'report')
    .description('aggregate run records into tables (prints one format, writes md, csv and json under <results>/tables/)')
    .option('--results <dir>', 'results directory', 'results')
    .option('--suite <name>', 'one suite (built-in name or suite file); default: every built-in suite')
    .addOption(new Option('--format <format>', 'format to print').choices(['md', 'csv', 'json']).default('md'))
    .action(async function (this: Command, opts: { results: string; suite?: string; format: TableFormat }) {
      await act(this, io, async () => {
        const out = await reportCommand(opts);
        io.out(out.output.endsWith('\n') ? out.output : `${out.output}\n`);
        for (const w of out.warnings) io.err(`warning: ${w}\n`);
        if (out.written) io.err(`wrote ${out.written.md}, ${out.written.csv}, ${out.written.json}\n`);
        return { exitCode: EXIT.ok };
      });
    });
}
