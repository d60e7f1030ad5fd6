// `report`: tables from the run records (harness/results), printed in one format and written in all three.
import path from 'node:path';
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
  /** The three files written under <results>/tables/. */
  written: Record<TableFormat, string>;
}

/** Build the tables, write md/csv/json under <results>/tables/ (all.* or <suite>.*), return the chosen format. */
export async function reportCommand(opts: ReportOptions = {}): Promise<ReportOutcome> {
  const dir = path.resolve(opts.results ?? 'results');
  const report = collectReport(dir, opts.suite, opts.generatedAt);
  const written = await writeTables(report, dir, opts.suite === undefined ? undefined : report.suites[0].name);
  return { report, output: render(report, opts.format ?? 'md'), written };
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
        io.err(`wrote ${out.written.md}, ${out.written.csv}, ${out.written.json}\n`);
        return { exitCode: EXIT.ok };
      });
    });
}
