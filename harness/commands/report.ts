// `report`, `check` and `suites`: tables from run records, the verdict gate, and the suite list.
// The functions below do the work (tests call them); register() only wires flags to them.
import path from 'node:path';
import { Option, type Command } from 'commander';
import { readRecords } from '../results/store.js';
import { listSuites, loadSuite, type Suite } from '../suites/suite.js';
import { buildReport, render, writeTables, type Report, type TableFormat } from '../results/tables.js';
import { writeTidy } from '../report/tidy.js';
import { writeHtmlReport } from '../report/html.js';

export interface ReportOptions {
  /** Results directory (default ./results in the working directory). */
  results?: string;
  /** One suite (a built-in name or a suite file); default every built-in suite. */
  suite?: string;
  format?: TableFormat;
  /** Timestamp written into the tables (tests pin it). */
  generatedAt?: string;
}

function resultsDir(opts: { results?: string }): string {
  return path.resolve(opts.results ?? 'results');
}

function selectedSuites(suite: string | undefined): Suite[] {
  return suite === undefined ? listSuites() : [loadSuite(suite)];
}

/** Aggregate the records of the selected suites (no files written). */
export function collectReport(opts: ReportOptions = {}): Report {
  const dir = resultsDir(opts);
  const suites = selectedSuites(opts.suite);
  const set = readRecords(dir, opts.suite === undefined ? undefined : suites[0].name);
  return buildReport(suites, set, opts.generatedAt);
}

export interface ReportOutcome {
  report: Report;
  /** The table in the requested format (what the CLI prints). */
  output: string;
  /** The three files written under <results>/tables/. */
  written: Record<TableFormat, string>;
  /** The tidy data (one row per run) written next to them: <base>.runs.csv and <base>.runs.jsonl. */
  tidy: { csv: string; jsonl: string; rows: number };
}

/** Build the tables, write md/csv/json under <results>/tables/ (all.* or <suite>.*), return the chosen format. */
export async function reportCommand(opts: ReportOptions = {}): Promise<ReportOutcome> {
  const report = collectReport(opts);
  const base = opts.suite === undefined ? 'all' : report.suites[0].name;
  const written = await writeTables(report, path.join(resultsDir(opts), 'tables'), base);
  const set = readRecords(resultsDir(opts), opts.suite === undefined ? undefined : report.suites[0].name);
  const tidy = await writeTidy(set, report, path.join(resultsDir(opts), 'tables'), base);
  return { report, output: render(report, opts.format ?? 'md'), written, tidy };
}

export interface CheckOutcome {
  /** 0 when no verdict target failed and every record was readable; 1 otherwise. */
  exitCode: number;
  text: string;
  report: Report;
}

/** The gate: fails on `not reproduced` rows and on unreadable records; proxy and not run rows never fail. */
export function checkCommand(opts: Omit<ReportOptions, 'format'> = {}): CheckOutcome {
  const report = collectReport(opts);
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
  const exitCode = failed.length > 0 || report.problems.length > 0 ? 1 : 0;
  lines.push(exitCode === 0 ? 'check: passed' : `check: FAILED (${failed.length} not reproduced, ${report.problems.length} unreadable)`);
  return { exitCode, text: `${lines.join('\n')}\n`, report };
}

export interface SuiteSummary {
  name: string;
  kind: Suite['kind'];
  description: string;
  file: string;
  /** Rows that run in the suite. */
  methods: Array<{ id: string; method: string; label: string }>;
  /** Rows that carry published figures only. */
  referenceRows: Array<{ id: string; method: string; label: string }>;
  seeds: number[];
  runs: number;
  timeouts: Suite['timeouts'];
  cost: Suite['cost'];
  deviations: string[];
}

export function summariseSuite(s: Suite): SuiteSummary {
  const row = (m: Suite['methods'][number]) => ({ id: m.id, method: m.method, label: m.label });
  const methods = s.methods.filter((m) => m.run).map(row);
  return {
    name: s.name,
    kind: s.kind,
    description: s.description,
    file: s.file,
    methods,
    referenceRows: s.methods.filter((m) => !m.run).map(row),
    seeds: s.seeds,
    runs: methods.length * s.seeds.length,
    timeouts: s.timeouts,
    cost: s.cost,
    deviations: s.deviations.map((d) => d.text),
  };
}

/** "≈ 7 min wall on …" / "≈ 40 GPU-days on …". */
export function costText(c: Suite['cost']): string {
  const parts: string[] = [];
  const w = c.wallSeconds;
  if (w !== undefined) parts.push(w >= 3600 ? `≈ ${(w / 3600).toFixed(1)} h wall` : w >= 120 ? `≈ ${Math.round(w / 60)} min wall` : `≈ ${Math.round(w)} s wall`);
  if (c.gpuDays !== undefined) parts.push(`≈ ${c.gpuDays} GPU-days`);
  return `${parts.join(', ')} on ${c.hardware}`;
}

/** The suite list, as text or JSON. */
export function suitesCommand(opts: { json?: boolean } = {}): string {
  const summaries = listSuites().map(summariseSuite);
  if (opts.json) return `${JSON.stringify(summaries, null, 2)}\n`;
  const lines: string[] = [];
  for (const s of summaries) {
    lines.push(`${s.name} (${s.kind}): ${s.description}`);
    lines.push(`  methods: ${s.methods.map((m) => m.id).join(', ')}${s.referenceRows.length > 0 ? `; reference only: ${s.referenceRows.map((m) => m.id).join(', ')}` : ''}`);
    lines.push(`  seeds: ${s.seeds.join(', ')} (${s.runs} runs of search + eval)`);
    lines.push(`  cost: ${costText(s.cost)}; timeouts: search ${s.timeouts.searchSeconds} s, eval ${s.timeouts.evalSeconds} s per phase`);
    if (s.deviations.length > 0) lines.push(`  deviations from the paper protocol: ${s.deviations.length}`);
    lines.push('');
  }
  return lines.join('\n');
}

export function register(program: Command): void {
  program
    .command('report')
    .description('aggregate run records into tables (prints one format, writes md, csv and json under <results>/tables/)')
    .option('--results <dir>', 'results directory', 'results')
    .option('--suite <name>', 'one suite (built-in name or suite file); default: every built-in suite')
    .addOption(new Option('--format <format>', 'format to print').choices(['md', 'csv', 'json']).default('md'))
    .option('--html', 'also write the HTML report (charts, cell drawings, trends; one self-contained file) and print its path instead of the table')
    .option('--out <file>', 'with --html: the HTML file (default <results>/tables/report.html)')
    .option('--history <dir>', 'with --html: history directory for the trend charts (default <results>/history when it exists)')
    .action(async (opts: { results: string; suite?: string; format: TableFormat; html?: boolean; out?: string; history?: string }) => {
      const out = await reportCommand(opts);
      if (!opts.html) process.stdout.write(out.output.endsWith('\n') ? out.output : `${out.output}\n`);
      process.stderr.write(`wrote ${out.written.md}, ${out.written.csv}, ${out.written.json}, ${out.tidy.csv}, ${out.tidy.jsonl}\n`);
      if (opts.html) {
        const h = await writeHtmlReport({ results: opts.results, suite: opts.suite, out: opts.out, history: opts.history });
        process.stdout.write(`${h.file}\n`);
        process.stderr.write(`wrote ${h.file} (${(h.bytes / 1024).toFixed(0)} KiB, ${h.charts} charts, ${h.drawings} cell drawings${h.trendMeasures ? `, ${h.trendMeasures} trend charts` : ''}, ${(h.ms / 1000).toFixed(1)} s)\n`);
      }
    });

  program
    .command('check')
    .description('exit non-zero when a paper target with a verdict is not reproduced (proxy and not run rows never fail)')
    .option('--results <dir>', 'results directory', 'results')
    .option('--suite <name>', 'one suite; default: every built-in suite')
    .action((opts: { results: string; suite?: string }) => {
      const out = checkCommand(opts);
      process.stdout.write(out.text);
      process.exitCode = out.exitCode;
    });

  program
    .command('suites')
    .description('list the built-in suites with kind, methods, seeds and estimated cost')
    .option('--json', 'print JSON')
    .action((opts: { json?: boolean }) => {
      process.stdout.write(suitesCommand(opts));
    });
}
