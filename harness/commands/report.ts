// `report`: tables from the run records (harness/results), printed in one format and written in all three.
// It warns (stderr) when it sees no evidence: a results directory that does not exist (then nothing is written,
// so a typo does not create a directory of `not run` tables), no records, or unreadable records.
import fs from 'node:fs';
import path from 'node:path';
import { runsDir } from '../results/layout.js';
import { collectReport } from '../results/tables.js';
import { Option, type Command } from 'commander';
import { render, type TableFormat } from '../results/render.js';
import type { Report } from '../results/tables.js';
import { writeOutputs } from '../views/outputs.js';
import { writeHtmlReport } from '../views/html.js';
import { EXIT, act, processIO, subcommand, type CommandIO } from './common.js';
import { evidence } from './check.js';

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
  /** The tidy data (one row per run) written next to them: <base>.runs.csv and <base>.runs.jsonl. */
  tidy?: { csv: string; jsonl: string; rows: number };
  /** What the tables cannot show, one line each (printed on stderr as `warning: …`). */
  warnings: string[];
}

/** Build the tables, write md/csv/json under <results>/tables/ (all.* or <suite>.*), return the chosen format. */
export async function reportCommand(opts: ReportOptions = {}): Promise<ReportOutcome> {
  const dir = path.resolve(opts.results ?? 'results');
  if (!fs.existsSync(dir)) {
    const report = collectReport(dir, opts.suite, opts.generatedAt);
    const warning = `results directory ${dir} does not exist: every row is \`not run\`; no tables written (pass --results DIR)`;
    return { report, output: render(report, opts.format ?? 'md'), warnings: [warning] };
  }
  const { report, written, tidy } = await writeOutputs(dir, opts.suite, opts.generatedAt);
  const warnings: string[] = [];
  if (evidence(report) === 0) warnings.push(`no run records under ${runsDir(dir)}: every row is \`not run\``);
  for (const p of report.problems) warnings.push(`unreadable record, left out of the tables: ${p}`);
  return { report, output: render(report, opts.format ?? 'md'), written, tidy, warnings };
}

export function register(program: Command, io: CommandIO = processIO): void {
  subcommand(program, 'report')
    .description('aggregate run records into tables (prints one format, writes md, csv and json under <results>/tables/)')
    .option('--results <dir>', 'results directory', 'results')
    .option('--suite <name>', 'one suite (built-in name or suite file); default: every built-in suite')
    .addOption(new Option('--format <format>', 'format to print').choices(['md', 'csv', 'json']).default('md'))
    .option('--html', 'also write the HTML report (charts, cell drawings, trends; one self-contained file) and print its path instead of the table')
    .option('--out <file>', 'with --html: the HTML file (default <results>/tables/report.html)')
    .option('--history <dir>', 'with --html: history directory for the trend charts (default <results>/history when it exists)')
    .action(async function (this: Command, opts: { results: string; suite?: string; format: TableFormat; html?: boolean; out?: string; history?: string }) {
      await act(this, io, async () => {
        const out = await reportCommand(opts);
        if (!opts.html) io.out(out.output.endsWith('\n') ? out.output : `${out.output}\n`);
        for (const w of out.warnings) io.err(`warning: ${w}\n`);
        if (out.written && out.tidy) io.err(`wrote ${out.written.md}, ${out.written.csv}, ${out.written.json}, ${out.tidy.csv}, ${out.tidy.jsonl}\n`);
        if (opts.html) {
          const h = await writeHtmlReport({ results: opts.results, suite: opts.suite, out: opts.out, history: opts.history });
          io.out(`${h.file}\n`);
          io.err(`wrote ${h.file} (${(h.bytes / 1024).toFixed(0)} KiB, ${h.charts} charts, ${h.drawings} cell drawings${h.trendMeasures ? `, ${h.trendMeasures} trend charts` : ''}, ${(h.ms / 1000).toFixed(1)} s)\n`);
        }
        return { exitCode: EXIT.ok };
      });
    });
}
