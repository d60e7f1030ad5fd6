// `run <suite>`: plan and run a suite, one child process per (row, seed, phase), then write tables.
// `_phase` (hidden): the child side, harness/run/child.ts.
import os from 'node:os';
import path from 'node:path';
import { Option, type Command } from 'commander';
import { BACKEND_NAMES, type BackendChoice } from '../../nas/backend.js';
import { runPhaseChild } from '../run/child.js';
import { loadSuiteForRun, planRuns, type LoadedForRun } from '../run/plan.js';
import { prepareResultsDir } from '../run/prepare.js';
import { createReporter } from '../run/progress.js';
import { runPlan, type RunSummary } from '../run/runner.js';
import { RunnerFault } from '../run/faults.js';
import { runLabel, suiteRunsDir } from '../results/layout.js';
import { renderConsole } from '../results/render.js';
import { writeHtmlReport } from '../views/html.js';
import { outputFiles, writeOutputs } from '../views/outputs.js';
import { EXIT, InputError, act, subcommand, type CommandIO } from './common.js';
import { intOption, parseMethods, parseSeeds, parseTimeout, threadsOption, ALLOW_CPU_FALLBACK_FLAG, ALLOW_CPU_FALLBACK_HELP } from './flags.js';
import { bookPerGpu, formatBooking } from '../run/executors/gpus.js';
import { addExecutorOptions, isSubmission, localConcurrency, submitCommand, type ExecutorOptions } from './run-executors.js';

/** 128 + the signal's number, the shell's code for a process stopped by a signal (130 for ^C; rerun with --resume). */
export function interruptedExitCode(signal: NodeJS.Signals | undefined): number {
  return 128 + (os.constants.signals[signal ?? 'SIGINT'] ?? 2);
}

export interface RunCommandOptions extends ExecutorOptions {
  seeds?: number[];
  methods?: string[];
  backend: BackendChoice;
  threads?: number;
  allowCpuFallback?: boolean;
  out: string;
  resume?: boolean;
  fresh?: boolean;
  concurrency: number;
  timeout?: number;
  microBatch?: number;
  /** --concurrency was given on the command line (with --gpus the default is one child per GPU). */
  concurrencyGiven?: boolean;
  /** Print one JSON summary on stdout (progress goes to stderr). */
  json?: boolean;
  /** Runs (suite/row/seed-N/phase) to redo from scratch; implies --resume for the others. */
  restart?: string[];
}

export interface RunCommandDeps {
  loadSuite(nameOrPath: string): Promise<LoadedForRun>;
  stdout: NodeJS.WriteStream;
  /** Where progress goes with --json (default process.stderr). */
  stderr?: NodeJS.WriteStream;
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
    const status = r.action === 'busy' ? 'busy' : (r.record?.status ?? 'not run');
    const m = r.record?.measures;
    const cost = m ? `${m.wallSeconds.toFixed(1)} s, ${fmtNum(m.gpuDays, 3)} device-days on ${m.deviceClass}` : '';
    const err = r.record?.error ? `  ${r.record.error}` : r.note ? `  ${r.note}` : '';
    lines.push(`  ${status.padEnd(8)} ${runLabel(r.spec).padEnd(40)} ${cost}${err}`);
  }
  for (const b of formatBooking(bookPerGpu(s.results.filter((r) => r.action === 'ran').flatMap((r) => (r.record ? [r.record] : []))))) {
    lines.push(`  ${b}`);
  }
  for (const w of s.warnings) lines.push(`warning: ${w}`);
  lines.push(`records: ${suiteRunsDir(resultsDir, suite)}`);
  return lines.join('\n');
}


/** A run that did not end ok: failed, timed out, diverged, not run, busy. */
function notOk(r: RunSummary['results'][number]): boolean {
  return r.record?.status !== 'ok';
}

/** What `run --json` prints: every run's status, error and files, and the exit code. */
export function summaryJson(suite: string, resultsDir: string, s: RunSummary, exitCode: number, tables: string[]): object {
  return {
    suite,
    resultsDir,
    exitCode,
    passed: exitCode === EXIT.ok,
    interrupted: s.interrupted ? (s.signal ?? true) : false,
    counts: { ...s.counts, notOk: s.results.filter(notOk).length, runs: s.results.length },
    runs: s.results.map((r) => ({
      label: runLabel(r.spec),
      row: r.spec.row,
      seed: r.spec.seed,
      phase: r.spec.phase,
      action: r.action,
      status: r.action === 'busy' ? 'busy' : (r.record?.status ?? 'not run'),
      error: r.record?.error ?? r.note,
      record: r.recordPath,
    })),
    warnings: s.warnings,
    tables,
  };
}

/**
 * The `run` command's body; resolves to the exit code: EXIT.ok when every run ended ok, EXIT.failed when any did
 * not (failed, timeout, diverged, busy), 128 + signal when interrupted.
 */
export async function runCommand(suiteArg: string, o: RunCommandOptions, deps: RunCommandDeps): Promise<number> {
  const loaded = await deps.loadSuite(suiteArg);
  if (isSubmission(o)) return submitCommand(suiteArg, loaded, o, deps);
  const concurrency = localConcurrency(o, Boolean(o.concurrencyGiven));
  const suite = loaded.runnable;
  const specs = planRuns(suite, { seeds: o.seeds, methods: o.methods, backend: o.backend, threads: o.threads ?? 1, allowCpuFallback: o.allowCpuFallback, timeoutSeconds: o.timeout, microBatch: o.microBatch });
  const resultsDir = path.resolve(o.out);
  const labels = specs.map(runLabel);
  const unknownRestart = (o.restart ?? []).filter((r) => !labels.includes(r));
  if (unknownRestart.length) {
    throw new Error(`--restart: ${unknownRestart.join(', ')} ${unknownRestart.length === 1 ? 'is not a run' : 'are not runs'} of this plan (runs: ${labels.join(', ')})`);
  }
  const resume = o.resume || (o.restart?.length ?? 0) > 0;
  const prepared = prepareResultsDir(resultsDir, suite.name, { resume, fresh: o.fresh });
  const human = o.json ? (deps.stderr ?? process.stderr) : deps.stdout;
  const say = (line: string): void => void human.write(line + '\n');
  try {
    if (prepared.archivedTo) say(`--fresh: moved the earlier runs of ${suite.name} to ${prepared.archivedTo}`);
    else if (prepared.existingRecords > 0) say(`--resume: ${prepared.existingRecords} record(s) of ${suite.name} found; finished runs are kept`);
    const reporter = createReporter(human);
    let summary: RunSummary;
    try {
      summary = await runPlan(specs, {
        resultsDir,
        resume,
        restart: o.restart,
        concurrency,
        gpus: o.gpus,
        reporter,
        handleSignals: deps.handleSignals,
      });
    } finally {
      reporter.close();
    }
    say(formatSummary(suite.name, resultsDir, summary));
    let code: number = summary.results.some(notOk) ? EXIT.failed : EXIT.ok;
    let files: string[] = [];
    if (summary.interrupted) code = interruptedExitCode(summary.signal);
    else {
      try {
        const tables = await writeTablesAfterRun(resultsDir, loaded, suiteArg);
        if (tables.text) say(`\n${tables.text}\n`);
        for (const f of tables.files) say(`table: ${f}`);
        files = tables.files;
      } catch (err) {
        say(`tables: not written: ${err instanceof Error ? err.message : String(err)} (the records are complete; run \`report\`)`);
      }
    }
    if (code === EXIT.failed) say(`run ${suite.name}: FAILED: ${summary.results.filter(notOk).length} of ${summary.results.length} run(s) did not end ok (exit ${EXIT.failed})`);
    if (o.json) deps.stdout.write(JSON.stringify(summaryJson(suite.name, resultsDir, summary, code, files), null, 2) + '\n');
    return code;
  } finally {
    prepared.release();
  }
}

const defaultDeps: RunCommandDeps = { loadSuite: loadSuiteForRun, stdout: process.stdout, handleSignals: true };

export function register(program: Command, deps: RunCommandDeps = defaultDeps): void {
  const run = subcommand(program, 'run');
  run
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
    .addOption(threadsOption())
    .option(ALLOW_CPU_FALLBACK_FLAG, ALLOW_CPU_FALLBACK_HELP)
    .option('--out <dir>', 'results directory', 'results')
    .option('--resume', 'keep finished runs; rerun missing, failed and timed-out runs, continuing from checkpoints')
    .option('--fresh', 'move existing runs of this suite to <out>/archive/ and start over')
    .option('--restart <runs>', 'comma-separated runs (suite/row/seed-N/phase, as the summary names them) to redo from ' +
      'scratch, their earlier attempt moved aside; the other runs resume', (v: string) => v.split(',').map((x) => x.trim()).filter(Boolean))
    .option('--concurrency <n>', 'child processes at once (one phase per device)', intOption('--concurrency', 1), 1)
    .option('--timeout <seconds>', 'timeout per phase, overriding the suite (0 = none)', parseTimeout)
    .option('--json', 'print one JSON summary on stdout (runs, statuses, errors, exit code); progress goes to stderr')
    .option('--micro-batch <n>', 'search in micro-batches of n with gradient accumulation when a batch does not fit ' +
      '(the wasm heap is 4 GiB); recorded as a deviation, so rows become proxy', intOption('--micro-batch', 1));
  addExecutorOptions(run)
    .action(async function (this: Command, suiteArg: string, opts: RunCommandOptions) {
      opts.concurrencyGiven = this.getOptionValueSource('concurrency') === 'cli';
      if (opts.resume && opts.fresh) this.error('error: --resume and --fresh exclude each other: pick one');
      // Errors go where commander writes its own (tests capture them there), without the usage text.
      const writeErr = this.configureOutput().writeErr ?? ((s: string) => process.stderr.write(s));
      const io: CommandIO = { out: (t) => void deps.stdout.write(t), err: (t) => writeErr(t) };
      // A closed terminal (SIGHUP) must not turn the runner's last lines into a crash: they are lost, the records are not.
      for (const s of [process.stdout, process.stderr]) s.on('error', () => undefined);
      await act(this, io, async () => {
        try {
          return { exitCode: await runCommand(suiteArg, opts, deps) };
        } catch (err) {
          if (err instanceof InputError) throw err;
          // A suite that does not load, a busy or non-empty results directory: bad input (EXIT.usage), nothing ran.
          // The runner's own failure (disk full) after runs started: EXIT.failed.
          io.err(`error: ${err instanceof Error ? err.message : String(err)}\n`);
          if (opts.json) deps.stdout.write(JSON.stringify({ suite: suiteArg, exitCode: err instanceof RunnerFault ? EXIT.failed : EXIT.usage, passed: false, error: err instanceof Error ? err.message : String(err) }) + '\n');
          return { exitCode: err instanceof RunnerFault ? EXIT.failed : EXIT.usage };
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
