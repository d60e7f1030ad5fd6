// `run <suite>`: plan and run a suite, one child process per (method, seed, phase), then write tables.
// `_phase` (hidden): the child side — run one phase in this process and write its record.
import fs from 'node:fs';
import path from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { BACKEND_NAMES, initBackend, type BackendChoice, type BackendInfo } from '../../nas/backend.js';
import { readJsonIfExists, writeJsonAtomic } from '../../nas/util/fs.js';
import { collectEnv } from '../measure/env.js';
import { AttemptLog, Meter, combineAttempts, deviceClass, toMeasures } from '../measure/meter.js';
import { executePhase } from '../run/phase.js';
import type { PhaseContext, PhaseOutcome, PhaseSpec, Progress } from '../run/phase-types.js';
import { createReporter } from '../run/progress.js';
import { deviationsFor, loadSuite, resolveConfigs, type Suite } from '../suites/suite.js';
import { RECORD_SCHEMA_VERSION, type EnvProvenance, type RunRecord } from '../results/record.js';
import {
  encodeChildMessage,
  isRunnableSuite,
  planRuns,
  prepareResultsDir,
  runLabel,
  runnerRecord,
  runPlan,
  suiteRunsDir,
  type ChildMessage,
  type RunnableSuite,
  type RunSummary,
} from '../run/runner.js';
import { renderConsole } from '../results/tables.js';
import { reportCommand } from './report.js';
import { writeHtmlReport } from '../report/html.js';

// ---------------------------------------------------------------------------------------------------------------
// Flag parsers (errors name the flag: commander prints "option '--seeds <list>' argument 'x' is invalid. …")

export function parseSeeds(value: string): number[] {
  const parts = value.split(',').map((s) => s.trim());
  if (parts.length === 0 || parts.some((p) => !/^\d+$/.test(p))) {
    throw new InvalidArgumentError('--seeds takes comma-separated non-negative integers, e.g. 0,1,2');
  }
  const seeds = parts.map(Number);
  if (new Set(seeds).size !== seeds.length) throw new InvalidArgumentError('--seeds lists a seed twice');
  return seeds;
}

export function parseMethods(value: string): string[] {
  const ids = value.split(',').map((s) => s.trim());
  if (ids.some((s) => s.length === 0)) throw new InvalidArgumentError('--methods takes comma-separated method ids, e.g. entrannas,darts-1st');
  return ids;
}

function positiveInt(flag: string) {
  return (value: string): number => {
    if (!/^\d+$/.test(value.trim()) || Number(value) < 1) throw new InvalidArgumentError(`${flag} takes a positive integer`);
    return Number(value);
  };
}

export function parseTimeout(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0) {
    throw new InvalidArgumentError('--timeout takes seconds per phase (a non-negative number; 0 = no timeout)');
  }
  return n;
}

// ---------------------------------------------------------------------------------------------------------------
// Suites. ==== SUITE LOADER: the one place where harness/suite.ts maps into the runner's plan ====

/** A suite from harness/suite.ts as the runner sees it: rows with run: true, configs resolved per seed. */
export function toRunnableSuite(suite: Suite): RunnableSuite {
  const rows = suite.methods.filter((m) => m.run);
  return {
    name: suite.name,
    seeds: suite.seeds,
    timeoutSeconds: 0,
    deviations: [], // deviationsFor() below gives each row suite-wide + its own, in the suite's order
    methods: rows.map((row) => ({
      id: row.id,
      deviations: deviationsFor(suite, row.id),
      search: (seed: number) => ({ kind: 'search' as const, config: resolveConfigs(suite, row, seed).search }),
      // genotype is filled by the runner with <search outDir>/genotype.json
      eval: (seed: number) => ({ kind: 'eval' as const, config: resolveConfigs(suite, row, seed).eval, genotype: '' }),
      timeoutSeconds: { search: suite.timeouts.searchSeconds, eval: suite.timeouts.evalSeconds },
    })),
  };
}

export interface LoadedForRun {
  runnable: RunnableSuite;
  /** The harness/suite.ts suite, when it came from there (tables need it); absent for runnable-suite files. */
  suite?: Suite;
}

/** Resolve `run <suite>`: a runnable-suite JSON file (fixtures, tests) or a suite by name/path via harness/suite.ts. */
export async function loadSuiteForRun(nameOrPath: string): Promise<LoadedForRun> {
  if (nameOrPath.endsWith('.json') && fs.existsSync(nameOrPath)) {
    const data = JSON.parse(fs.readFileSync(nameOrPath, 'utf8')) as unknown;
    if (isRunnableSuite(data)) return { runnable: data };
  }
  const suite = loadSuite(nameOrPath);
  return { runnable: toRunnableSuite(suite), suite };
}

// ---------------------------------------------------------------------------------------------------------------
// ==== TABLES CALL SITE: the one place where `run` writes tables (harness/tables.ts through `report`) ====
// Called once after the runs finish (not after an interrupted run). Returns the files it wrote. Runnable-suite
// files (fixtures) have no targets and get no tables.
/** Writes the suite's tables and the all-suites tables; returns the console summary and the files written. */
async function writeTablesAfterRun(resultsDir: string, loaded: LoadedForRun, suiteArg: string): Promise<{ text: string; files: string[] }> {
  if (!loaded.suite) return { text: '', files: [] };
  const mine = await reportCommand({ results: resultsDir, suite: suiteArg });
  const all = await reportCommand({ results: resultsDir });
  // <results>/tables/report.html, every suite; the tables above stand even when the page cannot be built.
  const html = await writeHtmlReport({ results: resultsDir }).then((h) => [h.file], (err: Error) => {
    process.stderr.write(`report.html: not written: ${err.message} (run \`report --html\`)\n`);
    return [];
  });
  return {
    text: renderConsole(all.report, mine.report.suites[0].name),
    files: [mine.written.md, mine.written.csv, mine.written.json, all.written.md, all.written.csv, all.written.json,
      mine.tidy.csv, mine.tidy.jsonl, all.tidy.csv, all.tidy.jsonl, ...html],
  };
}

// ---------------------------------------------------------------------------------------------------------------
// run

export interface RunCommandOptions {
  seeds?: number[];
  methods?: string[];
  backend: BackendChoice;
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
  const specs = planRuns(suite, { seeds: o.seeds, methods: o.methods, backend: o.backend, timeoutSeconds: o.timeout, microBatch: o.microBatch });
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
    if (summary.interrupted) return 130;
    try {
      const tables = await writeTablesAfterRun(resultsDir, loaded, suiteArg);
      if (tables.text) say(`\n${tables.text}\n`);
      for (const f of tables.files) say(`table: ${f}`);
    } catch (err) {
      say(`tables: not written: ${err instanceof Error ? err.message : String(err)} (the records are complete; run \`report\`)`);
    }
    return summary.counts.failed + summary.counts.timeout > 0 ? 1 : 0;
  } finally {
    prepared.release();
  }
}

// ---------------------------------------------------------------------------------------------------------------
// _phase (child side)

export interface PhaseChildOptions {
  spec: string;
  record: string;
  outDir: string;
  resume: boolean;
}

function send(m: ChildMessage): void {
  process.stdout.write(encodeChildMessage(m));
}

/** Exit when the runner goes away (it was killed): its children must not run on unowned. */
function watchParent(): void {
  const parent = process.ppid;
  setInterval(() => {
    if (process.ppid !== parent) {
      process.stderr.write('_phase: the runner went away; stopping (rerun with --resume)\n');
      process.exit(1);
    }
  }, 1000).unref();
}

/** Run one phase in this process and write its record; resolves to the exit code. */
export async function runPhaseChild(o: PhaseChildOptions): Promise<number> {
  watchParent();
  const startedAt = new Date(performance.timeOrigin).toISOString();
  const spec = readJsonIfExists<PhaseSpec>(o.spec);
  if (!spec) throw new Error(`_phase: no spec at ${o.spec}`);
  fs.mkdirSync(o.outDir, { recursive: true });

  let backend: BackendInfo;
  try {
    backend = await initBackend(spec.backend);
  } catch (err) {
    const now = new Date().toISOString();
    const msg = `backend ${spec.backend}: ${err instanceof Error ? err.message : String(err)}`;
    await writeJsonAtomic(o.record, runnerRecord({ spec, status: 'failed', error: msg, startedAt, finishedAt: now }));
    process.stderr.write(msg + '\n');
    return 1;
  }
  const env: EnvProvenance = collectEnv(backend);
  const devClass = deviceClass(backend.device, { cpuModel: env.cpuModel, threads: backend.threads, gpuModel: env.gpuModel });
  const meter = new Meter({ sinceProcessStart: true, gpu: backend.device === 'gpu' });
  const attempts = new AttemptLog(path.join(o.outDir, 'attempts'), startedAt, devClass, { resume: o.resume });
  attempts.record(meter.snapshot(), true);
  send({ type: 'started', env, deviceClass: devClass });

  let lastSent = 0;
  let lastEpoch = -1;
  const ctx: PhaseContext = {
    outDir: o.outDir,
    resume: o.resume,
    sampleMemory: () => meter.sample(),
    notePeakTensorBytes: (b: number) => meter.notePeakTensorBytes(b),
    progress(p: Progress) {
      meter.sample();
      const now = Date.now();
      if (now - lastSent < 100 && p.epoch === lastEpoch) return; // at most ~10 messages a second
      lastSent = now;
      lastEpoch = p.epoch;
      const snap = meter.snapshot();
      send({ type: 'progress', progress: p, measures: snap });
      attempts.record(snap);
    },
  };

  let outcome: PhaseOutcome | undefined;
  let failure: string | undefined;
  try {
    outcome = await executePhase(spec.work, ctx);
  } catch (err) {
    failure = err instanceof Error ? err.message : String(err);
    process.stderr.write(`${err instanceof Error && err.stack ? err.stack : failure}\n`);
  }
  const snap = meter.finish();
  attempts.record(snap, true);
  const measures = combineAttempts([
    ...(o.resume ? attempts.previous() : []),
    toMeasures(snap, devClass, { msPerStep: outcome?.msPerStep, steps: outcome?.steps }),
  ]);
  const record: RunRecord = {
    schema: RECORD_SCHEMA_VERSION,
    suite: spec.suite,
    method: spec.method,
    seed: spec.seed,
    phase: spec.phase,
    status: outcome ? outcome.status : 'failed',
    ...(failure !== undefined ? { error: failure } : outcome?.error !== undefined ? { error: outcome.error } : {}),
    startedAt,
    finishedAt: new Date().toISOString(),
    deviations: spec.deviations,
    config: spec.work.config,
    measures,
    ...(outcome?.search ? { search: outcome.search } : {}),
    ...(outcome?.eval ? { eval: outcome.eval } : {}),
    env,
  };
  await writeJsonAtomic(o.record, record);
  return record.status === 'failed' ? 1 : 0;
}

// ---------------------------------------------------------------------------------------------------------------
// Registration

const defaultDeps: RunCommandDeps = { loadSuite: loadSuiteForRun, stdout: process.stdout, handleSignals: true };

export function register(program: Command, deps: RunCommandDeps = defaultDeps): void {
  program
    .command('run')
    .description(
      'Run a suite: every (method, seed) search then eval, each phase in its own child process, then write tables. ' +
        'Records go to <out>/runs/<suite>/<method>/seed-<n>/<phase>.json. If <out> already holds runs of the suite, ' +
        'pass --resume (keep finished runs; rerun missing, failed and timed-out ones from their checkpoints) or ' +
        '--fresh (move them to <out>/archive/ and start over).',
    )
    .argument('<suite>', 'suite name, or a suite JSON file')
    .option('--seeds <list>', 'comma-separated seeds (default: the suite\'s)', parseSeeds)
    .option('--methods <list>', 'comma-separated method ids (default: all of the suite\'s)', parseMethods)
    .addOption(new Option('--backend <name>', 'tfjs backend').choices([...BACKEND_NAMES]).default('auto'))
    .option('--out <dir>', 'results directory', 'results')
    .option('--resume', 'keep finished runs; rerun missing, failed and timed-out runs, continuing from checkpoints')
    .option('--fresh', 'move existing runs of this suite to <out>/archive/ and start over')
    .option('--concurrency <n>', 'child processes at once (one phase per device)', positiveInt('--concurrency'), 1)
    .option('--timeout <seconds>', 'timeout per phase, overriding the suite (0 = none)', parseTimeout)
    .option('--micro-batch <n>', 'search in micro-batches of n with gradient accumulation when a batch does not fit ' +
      '(the wasm heap is 4 GiB); recorded as a deviation, so rows become proxy', positiveInt('--micro-batch'))
    .action(async (suiteArg: string, opts: RunCommandOptions, cmd: Command) => {
      if (opts.resume && opts.fresh) cmd.error('error: --resume and --fresh exclude each other: pick one');
      try {
        process.exitCode = await runCommand(suiteArg, opts, deps);
      } catch (err) {
        // A clear message, without the usage text that commander adds to flag errors.
        const writeErr = cmd.configureOutput().writeErr ?? ((s: string) => process.stderr.write(s));
        writeErr(`error: ${err instanceof Error ? err.message : String(err)}\n`);
        process.exitCode = 1;
      }
    });

  program
    .command('_phase', { hidden: true })
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
