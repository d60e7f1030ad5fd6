// `run <suite>`: plan and run a suite, one child process per (row, seed, phase), then write tables.
// `_phase` (hidden): the child side, harness/run/child.ts.
import path from 'node:path';
import { Option, type Command } from 'commander';
import { BACKEND_NAMES, type BackendChoice } from '../../nas/backend.js';
import { runPhaseChild } from '../run/child.js';
import { loadSuiteForRun, planRuns, type LoadedForRun } from '../run/plan.js';
import { prepareResultsDir } from '../run/prepare.js';
import { createReporter } from '../run/progress.js';
import { runPlan, type RunSummary } from '../run/runner.js';
import { runLabel, suiteRunsDir } from '../results/layout.js';
import { renderConsole } from '../results/render.js';
import { writeHtmlReport } from '../views/html.js';
import { outputFiles, writeOutputs } from '../views/outputs.js';
import { EXIT, act, subcommand, type CommandIO } from './common.js';
import { ALLOW_CPU_FALLBACK_FLAG, ALLOW_CPU_FALLBACK_HELP, intOption, parseMethods, parseSeeds, parseTimeout } from './flags.js';

/** 128 + SIGINT, the shell's code for a run stopped by ^C (rerun with --resume). */
const INTERRUPTED = 130;

export interface RunCommandOptions {
  seeds?: number[];
  methods?: string[];
  backend: BackendChoice;
  allowCpuFallback?: boolean;
  out: string;
  resume?: boolean;
  fresh?: boolean;
  concurrency: number;
  timeout?: number;
  microBatch?: number;
}

export interface RunCommandDeps {
  loadSuite(nameOrPath: string): Promise<LoadedForRun>;
  stdout: NodeJS.WriteStream;
  handleSignals: boolean;
}

/**
 * The suite's tables and the all-suites tables, written once after the runs finish (not after an interrupted
 * run); returns the console summary and the files written. Runnable-suite files (fixtures) have no targets and
 * get no tables.
 */
async function writeTablesAfterRun(resultsDir: string, loaded: LoadedForRun, suiteArg: string): Promise<{ text: string; files: string[] }> {
  if (!loaded.suite) return { text: '', files: [] };
  const mine = await writeOutputs(resultsDir, suiteArg);
  const all = await writeOutputs(resultsDir);
  // <results>/tables/report.html, every suite; the tables above stand even when the page cannot be built.
  const html = await writeHtmlReport({ results: resultsDir }).then((h) => [h.file], (err: Error) => {
    process.stderr.write(`report.html: not written: ${err.message} (run \`report --html\`)\n`);
    return [];
  });
  return { text: renderConsole(all.report, mine.report.suites[0].name), files: [...outputFiles(mine), ...outputFiles(all), ...html] };
}

function fmtNum(x: number | undefined, digits: number): string {
  return x === undefined ? '-' : x.toPrecision(digits);
}

export function formatSummary(suite: string, resultsDir: string, s: RunSummary): string {
  const lines: string[] = [];
  const kept = s.results.filter((r) => r.action === 'kept').length;
  lines.push(
    `run ${suite}: ${s.results.length} run(s): ${s.counts.ok} ok, ${s.counts.failed} failed, ${s.counts.timeout} timeout, ` +
      `${s.counts.diverged} diverged${kept ? ` (${kept} kept from before)` : ''}${s.interrupted ? ' — INTERRUPTED' : ''}`,
  );
  for (const r of s.results) {
    const status = r.record?.status ?? 'not run';
    const m = r.record?.measures;
    const cost = m ? `${m.wallSeconds.toFixed(1)} s, ${fmtNum(m.gpuDays, 3)} device-days on ${m.deviceClass}` : '';
    const err = r.record?.error ? `  ${r.record.error}` : '';
    lines.push(`  ${status.padEnd(8)} ${runLabel(r.spec).padEnd(40)} ${cost}${err}`);
  }
  for (const w of s.warnings) lines.push(`warning: ${w}`);
  lines.push(`records: ${suiteRunsDir(resultsDir, suite)}`);
  return lines.join('\n');
}

/** The `run` command's body; resolves to the exit code (0 all ok/diverged, 1 some failed/timeout, 130 interrupted). */
export async function runCommand(suiteArg: string, o: RunCommandOptions, deps: RunCommandDeps): Promise<number> {
  const loaded = await deps.loadSuite(suiteArg);
  const suite = loaded.runnable;
  const specs = planRuns(suite, { seeds: o.seeds, methods: o.methods, backend: o.backend, allowCpuFallback: o.allowCpuFallback, timeoutSeconds: o.timeout, microBatch: o.microBatch });
  const resultsDir = path.resolve(o.out);
  const prepared = prepareResultsDir(resultsDir, suite.name, { resume: o.resume, fresh: o.fresh });
  const say = (line: string): void => void deps.stdout.write(line + '\n');
  try {
    if (prepared.archivedTo) say(`--fresh: moved the earlier runs of ${suite.name} to ${prepared.archivedTo}`);
    else if (prepared.existingRecords > 0) say(`--resume: ${prepared.existingRecords} record(s) of ${suite.name} found; finished runs are kept`);
    const reporter = createReporter(deps.stdout);
    let summary: RunSummary;
    try {
      summary = await runPlan(specs, {
        resultsDir,
        resume: o.resume,
        concurrency: o.concurrency,
        reporter,
        handleSignals: deps.handleSignals,
      });
    } finally {
      reporter.close();
    }
    say(formatSummary(suite.name, resultsDir, summary));
    if (summary.interrupted) return INTERRUPTED;
    try {
      const tables = await writeTablesAfterRun(resultsDir, loaded, suiteArg);
      if (tables.text) say(`\n${tables.text}\n`);
      for (const f of tables.files) say(`table: ${f}`);
    } catch (err) {
      say(`tables: not written: ${err instanceof Error ? err.message : String(err)} (the records are complete; run \`report\`)`);
    }
    return summary.counts.failed + summary.counts.timeout > 0 ? EXIT.failed : EXIT.ok;
  } finally {
    prepared.release();
  }
}

const defaultDeps: RunCommandDeps = { loadSuite: loadSuiteForRun, stdout: process.stdout, handleSignals: true };

export function register(program: Command, deps: RunCommandDeps = defaultDeps): void {
  subcommand(program, 'run')
    .description(
      'Run a suite: every (row, seed) search then eval, each phase in its own child process, then write tables. ' +
        'Records go to <out>/runs/<suite>/<row>/seed-<n>/<phase>.json. If <out> already holds runs of the suite, ' +
        'pass --resume (keep finished runs; rerun missing, failed and timed-out ones from their checkpoints) or ' +
        '--fresh (move them to <out>/archive/ and start over).',
    )
    .argument('<suite>', 'suite name, or a suite JSON file')
    .option('--seeds <list>', 'comma-separated seeds (default: the suite\'s)', parseSeeds)
    .option('--methods <list>', 'comma-separated method ids (default: all of the suite\'s)', parseMethods)
    .addOption(new Option('--backend <name>', 'tfjs backend').choices([...BACKEND_NAMES]).default('auto'))
    .option(ALLOW_CPU_FALLBACK_FLAG, ALLOW_CPU_FALLBACK_HELP)
    .option('--out <dir>', 'results directory', 'results')
    .option('--resume', 'keep finished runs; rerun missing, failed and timed-out runs, continuing from checkpoints')
    .option('--fresh', 'move existing runs of this suite to <out>/archive/ and start over')
    .option('--concurrency <n>', 'child processes at once (one phase per device)', intOption('--concurrency', 1), 1)
    .option('--timeout <seconds>', 'timeout per phase, overriding the suite (0 = none)', parseTimeout)
    .option('--micro-batch <n>', 'search in micro-batches of n with gradient accumulation when a batch does not fit ' +
      '(the wasm heap is 4 GiB); recorded as a deviation, so rows become proxy', intOption('--micro-batch', 1))
    .action(async function (this: Command, suiteArg: string, opts: RunCommandOptions) {
      if (opts.resume && opts.fresh) this.error('error: --resume and --fresh exclude each other: pick one');
      // Errors go where commander writes its own (tests capture them there), without the usage text.
      const writeErr = this.configureOutput().writeErr ?? ((s: string) => process.stderr.write(s));
      const io: CommandIO = { out: (t) => void deps.stdout.write(t), err: (t) => writeErr(t) };
      await act(this, io, async () => {
        try {
          return { exitCode: await runCommand(suiteArg, opts, deps) };
        } catch (err) {
          // Anything the run throws (a suite that does not load, a busy or non-empty results directory) exits 1.
          io.err(`error: ${err instanceof Error ? err.message : String(err)}\n`);
          return { exitCode: EXIT.failed };
        }
      });
    });

  subcommand(program, '_phase', { hidden: true })
    .description('internal: run one phase (spawned by `run`)')
    .requiredOption('--spec <file>', 'PhaseSpec JSON')
    .requiredOption('--record <file>', 'where to write the run record')
    .requiredOption('--out-dir <dir>', 'artifacts directory')
    .option('--resume', 'continue from the checkpoint in --out-dir')
    .action(async (opts: { spec: string; record: string; outDir: string; resume?: boolean }) => {
      const code = await runPhaseChild({ spec: opts.spec, record: opts.record, outDir: opts.outDir, resume: Boolean(opts.resume) });
      // Exit now: a phase may leave handles (workers, timers) that would keep the process alive after its record.
      process.exit(code);
    });
}
