// The runner: plans (suite × method × seed × phase) and runs each in its own child process.
//
// Layout of a results directory:
//   <results>/runs/<suite>/<methodId>/seed-<seed>/<phase>.json   the run record (written atomically, once complete)
//   <results>/runs/<suite>/<methodId>/seed-<seed>/<phase>/       artifacts: genotype.json, checkpoints, spec.json,
//                                                                 child.log, attempts/ (cost of each attempt),
//                                                                 previous-records/ (failed records replaced by a rerun)
//   <results>/archive/<suite>-<time>/                             what --fresh moved aside (nothing is deleted)
//
// Rules:
//  - A record with status ok or diverged is finished: it is never redone or overwritten.
//  - A run that fails (non-zero exit, crash, thrown error), diverges or times out still gets a record that says
//    so, with the error, and the plan goes on. A timeout kills the child's whole process group.
//  - Search runs before eval for each (method, seed); eval reads <search outDir>/genotype.json. If the search did
//    not succeed, the eval gets a `failed` record ("search failed: …") without running.
//  - A results directory that already holds runs of the suite is refused unless --resume (keep finished runs,
//    rerun missing/failed/timeout ones with resume=true so phases continue from their checkpoints) or --fresh
//    (move the suite's runs to <results>/archive/ and start over). One runner per suite directory (a lock file).
//  - The child writes its own record when the phase completes (ok, diverged, or failed with the thrown error);
//    the runner writes one only when the child could not (timeout, killed, crashed before writing).
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { execa } from 'execa';
import pLimit from 'p-limit';
import type { BackendChoice } from '../../nas/backend.js';
import { readJsonIfExists, writeJsonAtomic } from '../../nas/util/fs.js';
import { collectEnv } from '../measure/env.js';
import { packageRoot } from '../../nas/util/fs.js';
import { toMeasures, type MeasureSnapshot } from '../measure/meter.js';
import type { EvalPhaseSpec, FixturePhaseSpec, PhaseSpec, PhaseWork, Progress, SearchPhaseSpec } from './phase-types.js';
import { silentReporter, type ProgressReporter } from './progress.js';
import { RECORD_SCHEMA_VERSION, type EnvProvenance, type Phase, type RunRecord, type RunStatus } from '../results/record.js';

// ---------------------------------------------------------------------------------------------------------------
// Suites as the runner sees them

export const RUNNABLE_SUITE_FORMAT = 'entrannas-bench/runnable-suite@1';

/**
 * What the runner needs from a suite. harness/suite.ts (loadSuite) produces richer suites (targets, protocols);
 * `toRunnableSuite` in commands/run.ts is the one place that maps one to the other. A JSON file with
 * `"format": "entrannas-bench/runnable-suite@1"` in this shape can also be run directly (fixture suites, tests).
 */
export interface RunnableSuite {
  format?: typeof RUNNABLE_SUITE_FORMAT;
  name: string;
  seeds: number[];
  /** Default timeout of each phase in seconds; 0 = none. */
  timeoutSeconds: number;
  /** Deviations from the paper protocol shared by every method. */
  deviations: string[];
  methods: RunnableMethod[];
}

export interface RunnableMethod {
  /** Directory name and record.method, e.g. "entrannas" or "darts-1st". */
  id: string;
  deviations?: string[];
  /**
   * Work of the search phase for a seed: a function, or plain data whose `config.seed` (when present) the
   * planner sets to each seed. Absent: no search.
   */
  search?: PerSeed<SearchPhaseSpec | FixturePhaseSpec>;
  /**
   * Work of the eval phase. When the method also has a search, the eval trains the genotype that search wrote
   * (the runner fills `genotype`); otherwise `genotype` must name a genotype file or published cell.
   */
  eval?: PerSeed<EvalPhaseSpec | FixturePhaseSpec>;
  timeoutSeconds?: Partial<Record<Phase, number>>;
}

export type PerSeed<W> = W | ((seed: number) => W);

export interface PlanOptions {
  seeds?: number[];
  methods?: string[];
  backend: BackendChoice;
  /** Overrides every phase's timeout (seconds; 0 = none). */
  timeoutSeconds?: number;
  /** Split search batches into micro-batches of this size (memory), recorded as a deviation; 0/undefined: as the suite. */
  microBatch?: number;
}

/** A search phase with micro-batches forced by `run --micro-batch` (unchanged when n ≥ the batch size). */
function withMicroBatch(work: PhaseWork, n: number | undefined): { work: PhaseWork; deviation?: string } {
  if (!n || work.kind !== 'search' || n >= work.config.batchSize) return { work };
  return {
    work: { ...work, config: { ...work.config, microBatch: n } },
    deviation: `search in micro-batches of ${n} of ${work.config.batchSize} with gradient accumulation (run --micro-batch: ` +
      `batch-norm statistics over ${n} samples)`,
  };
}

export function isRunnableSuite(x: unknown): x is RunnableSuite {
  return typeof x === 'object' && x !== null && (x as { format?: unknown }).format === RUNNABLE_SUITE_FORMAT;
}

function withSeed<W extends { config: object }>(work: W, seed: number): W {
  const config = structuredClone(work.config) as Record<string, unknown>;
  if ('seed' in config) config.seed = seed;
  return { ...structuredClone(work), config } as W;
}

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** One PhaseSpec per (method, seed, phase), search before eval. Throws on unknown methods or bad names. */
export function planRuns(suite: RunnableSuite, opts: PlanOptions): PhaseSpec[] {
  if (!NAME_RE.test(suite.name)) throw new Error(`suite name "${suite.name}" is not usable as a directory name`);
  const known = suite.methods.map((m) => m.id);
  for (const id of known) if (!NAME_RE.test(id)) throw new Error(`method id "${id}" is not usable as a directory name`);
  const wanted = opts.methods ?? known;
  const unknown = wanted.filter((m) => !known.includes(m));
  if (unknown.length) {
    throw new Error(`--methods: unknown method ${unknown.map((m) => `"${m}"`).join(', ')} in suite ${suite.name} (it has: ${known.join(', ')})`);
  }
  const seeds = opts.seeds ?? suite.seeds;
  const specs: PhaseSpec[] = [];
  for (const method of suite.methods.filter((m) => wanted.includes(m.id))) {
    for (const seed of seeds) {
      for (const phase of ['search', 'eval'] as const) {
        const w = method[phase];
        if (!w) continue;
        const { work, deviation } = withMicroBatch(typeof w === 'function' ? w(seed) : withSeed(w, seed), opts.microBatch);
        specs.push({
          suite: suite.name,
          method: method.id,
          seed,
          phase,
          work,
          deviations: [...suite.deviations, ...(method.deviations ?? []), ...(deviation ? [deviation] : [])],
          backend: opts.backend,
          timeoutSeconds: opts.timeoutSeconds ?? method.timeoutSeconds?.[phase] ?? suite.timeoutSeconds,
        });
      }
    }
  }
  return specs;
}

// ---------------------------------------------------------------------------------------------------------------
// Paths and records

export interface RunKey {
  suite: string;
  method: string;
  seed: number;
  phase: Phase;
}

export function runLabel(k: RunKey): string {
  return `${k.suite}/${k.method}/seed-${k.seed}/${k.phase}`;
}

export function suiteRunsDir(resultsDir: string, suite: string): string {
  return path.join(resultsDir, 'runs', suite);
}

export function runPaths(resultsDir: string, k: RunKey) {
  const dir = path.join(suiteRunsDir(resultsDir, k.suite), k.method, `seed-${k.seed}`);
  const outDir = path.join(dir, k.phase);
  return {
    record: path.join(dir, `${k.phase}.json`),
    outDir,
    spec: path.join(outDir, 'spec.json'),
    log: path.join(outDir, 'child.log'),
    previousRecords: path.join(outDir, 'previous-records'),
    genotype: path.join(outDir, 'genotype.json'),
  };
}

export const FINISHED: readonly RunStatus[] = ['ok', 'diverged'];

export function isFinished(r: RunRecord | undefined): boolean {
  return r !== undefined && FINISHED.includes(r.status);
}

function readRecord(file: string): RunRecord | undefined {
  try {
    const r = readJsonIfExists<RunRecord>(file);
    return r && typeof r.status === 'string' ? r : undefined;
  } catch {
    return undefined; // unreadable: treated as missing (atomic writes make this unexpected)
  }
}

/** Every record of a suite in a results directory (for tables): <runs>/<suite>/<method>/seed-<n>/<phase>.json. */
export function readSuiteRecords(resultsDir: string, suite: string): Array<{ path: string; record: RunRecord }> {
  const out: Array<{ path: string; record: RunRecord }> = [];
  const root = suiteRunsDir(resultsDir, suite);
  const dirs = (p: string): string[] => {
    try {
      return fs.readdirSync(p, { withFileTypes: true }).filter((d) => d.isDirectory() && !d.name.startsWith('.')).map((d) => d.name);
    } catch {
      return [];
    }
  };
  for (const method of dirs(root).sort()) {
    for (const seedDir of dirs(path.join(root, method)).filter((d) => /^seed-\d+$/.test(d)).sort()) {
      for (const phase of ['search', 'eval'] as const) {
        const file = path.join(root, method, seedDir, `${phase}.json`);
        const record = readRecord(file);
        if (record) out.push({ path: file, record });
      }
    }
  }
  return out;
}

/** Stable JSON (sorted keys) to compare configs. */
function canonical(x: unknown): string {
  if (Array.isArray(x)) return `[${x.map(canonical).join(',')}]`;
  if (x !== null && typeof x === 'object') {
    return `{${Object.keys(x).sort().map((k) => `${JSON.stringify(k)}:${canonical((x as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(x) ?? 'null';
}

// ---------------------------------------------------------------------------------------------------------------
// Results directory: refuse / resume / fresh, and a lock

export interface PrepareOptions {
  resume?: boolean;
  fresh?: boolean;
}

export interface PreparedResults {
  /** Runs (records or artifact directories) of this suite that were already there. */
  existingRecords: number;
  /** Where --fresh moved them. */
  archivedTo?: string;
  /** Release the suite lock. */
  release(): void;
}

export function prepareResultsDir(resultsDir: string, suite: string, opts: PrepareOptions): PreparedResults {
  if (opts.resume && opts.fresh) throw new Error('--resume and --fresh exclude each other: pick one');
  const dir = suiteRunsDir(resultsDir, suite);
  const release0 = acquireLock(resultsDir, suite);
  try {
    const entries = fs.existsSync(dir) ? fs.readdirSync(dir).filter((n) => !n.startsWith('.')) : [];
    const existingRecords = readSuiteRecords(resultsDir, suite).length;
    let archivedTo: string | undefined;
    if (entries.length > 0 && !opts.resume) {
      if (!opts.fresh) {
        throw new Error(
          `${dir} already holds runs of suite ${suite} (${existingRecords} record${existingRecords === 1 ? '' : 's'}). ` +
            'Pass --resume to keep finished runs and rerun only missing, failed and timed-out ones, ' +
            `or --fresh to move them to ${path.join(resultsDir, 'archive')}/ and start over.`,
        );
      }
      archivedTo = path.join(resultsDir, 'archive', `${suite}-${new Date().toISOString().replace(/[:.]/g, '-')}`);
      fs.mkdirSync(path.dirname(archivedTo), { recursive: true });
      fs.mkdirSync(archivedTo);
      for (const name of entries) fs.renameSync(path.join(dir, name), path.join(archivedTo, name));
    }
    fs.mkdirSync(dir, { recursive: true });
    return { existingRecords, archivedTo, release: release0 };
  } catch (err) {
    release0();
    throw err;
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** One runner per suite directory: <runs>/<suite>/.lock holds the runner's pid; a dead pid's lock is taken over. */
export function acquireLock(resultsDir: string, suite: string): () => void {
  const dir = suiteRunsDir(resultsDir, suite);
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, '.lock');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      fs.writeFileSync(file, String(process.pid), { flag: 'wx' });
      let released = false;
      return () => {
        if (released) return;
        released = true;
        try {
          if (fs.readFileSync(file, 'utf8').trim() === String(process.pid)) fs.rmSync(file, { force: true });
        } catch {
          /* already gone */
        }
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const holder = Number(fs.readFileSync(file, 'utf8').trim());
      if (Number.isInteger(holder) && holder > 0 && holder !== process.pid && pidAlive(holder)) {
        throw new Error(`another runner (pid ${holder}) is running suite ${suite} in ${dir}; remove ${file} if that is wrong`);
      }
      fs.rmSync(file, { force: true }); // stale
    }
  }
  throw new Error(`could not lock ${file}`);
}

// ---------------------------------------------------------------------------------------------------------------
// Child protocol: stdout lines that start with PROGRESS_MARKER carry JSON messages; everything else is log.

export const PROGRESS_MARKER = '@@entrannas-bench@@ ';

export type ChildMessage =
  | { type: 'started'; env: EnvProvenance; deviceClass: string }
  | { type: 'progress'; progress: Progress; measures: MeasureSnapshot };

export function encodeChildMessage(m: ChildMessage): string {
  return PROGRESS_MARKER + JSON.stringify(m) + '\n';
}

export function decodeChildMessage(line: string): ChildMessage | undefined {
  if (!line.startsWith(PROGRESS_MARKER)) return undefined;
  try {
    return JSON.parse(line.slice(PROGRESS_MARKER.length)) as ChildMessage;
  } catch {
    return undefined;
  }
}

export function binPath(): string {
  return path.join(packageRoot(), 'bin', 'entrannas-bench.js');
}

// ---------------------------------------------------------------------------------------------------------------
// Running a plan

export interface RunnerOptions {
  resultsDir: string;
  /** Rerun unfinished runs with resume=true (phases continue from their checkpoints). */
  resume?: boolean;
  /** Child processes at once (default 1: one phase per device). */
  concurrency?: number;
  reporter?: ProgressReporter;
  /** Between SIGTERM and SIGKILL of a timed-out process group (default 5000 ms). */
  killGraceMs?: number;
  /** Install SIGINT/SIGTERM handlers that stop the children (the CLI does; tests do not). */
  handleSignals?: boolean;
  onChildStart?(spec: PhaseSpec, pid: number): void;
  onProgress?(spec: PhaseSpec, p: Progress, pid: number): void;
}

export type RunAction = 'kept' | 'ran' | 'not-run' | 'interrupted';

export interface RunResult {
  spec: PhaseSpec;
  recordPath: string;
  /** Absent only when the runner was interrupted before the run started. */
  record?: RunRecord;
  /** kept: finished earlier; ran: a child ran; not-run: failed without running (its search failed). */
  action: RunAction;
}

export interface RunSummary {
  results: RunResult[];
  counts: Record<RunStatus, number>;
  interrupted: boolean;
  /** Finished records whose config differs from the plan's (kept anyway; --fresh to redo). */
  warnings: string[];
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    // detached children lead their own process group: -pid signals the child and all its descendants
    process.kill(process.platform === 'win32' ? pid : -pid, signal);
  } catch {
    /* already gone */
  }
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

interface RunnerRecordInput {
  spec: PhaseSpec;
  status: RunStatus;
  error: string;
  startedAt: string;
  finishedAt: string;
  env?: EnvProvenance;
  deviceClass?: string;
  snapshot?: MeasureSnapshot;
  wallSeconds?: number;
}

/** A record the runner writes for a child that could not (timeout, killed, crashed) or never ran. */
export function runnerRecord(r: RunnerRecordInput): RunRecord {
  const record: RunRecord = {
    schema: RECORD_SCHEMA_VERSION,
    suite: r.spec.suite,
    method: r.spec.method,
    seed: r.spec.seed,
    phase: r.spec.phase,
    status: r.status,
    error: r.error,
    startedAt: r.startedAt,
    finishedAt: r.finishedAt,
    deviations: r.spec.deviations,
    config: r.spec.work.config,
    env: r.env ?? collectEnv({ requested: r.spec.backend }),
  };
  if (r.snapshot && r.deviceClass) {
    // CPU, RSS and tensor figures are the child's last report (lower bounds); wall time is the runner's clock.
    record.measures = toMeasures({ ...r.snapshot, wallSeconds: r.wallSeconds ?? r.snapshot.wallSeconds }, r.deviceClass);
  }
  return record;
}

async function moveAside(recordPath: string, existing: RunRecord, previousDir: string): Promise<void> {
  await fs.promises.mkdir(previousDir, { recursive: true });
  const stamp = (existing.startedAt ?? new Date().toISOString()).replace(/[:.]/g, '-');
  await fs.promises.rename(recordPath, path.join(previousDir, `${stamp}.${existing.status}.json`));
}

/** Run the plan; resolves when every run has a record (or the runner was interrupted). */
export async function runPlan(specs: PhaseSpec[], opts: RunnerOptions): Promise<RunSummary> {
  const reporter = opts.reporter ?? silentReporter();
  const limit = pLimit(Math.max(1, opts.concurrency ?? 1));
  const grace = opts.killGraceMs ?? 5000;
  const active = new Map<number, { interrupt(reason: string): void }>();
  const results: RunResult[] = [];
  const warnings: string[] = [];
  let interruptedBy: string | undefined;

  const onSignal = (signal: NodeJS.Signals): void => {
    if (interruptedBy !== undefined) process.exit(130); // second ^C: leave now
    interruptedBy = signal; // queued runs see this and do not start
    reporter.log(`runner: ${signal}: stopping ${active.size} running phase(s); rerun with --resume to continue`);
    for (const a of active.values()) a.interrupt(`interrupted: the runner received ${signal}`);
  };
  if (opts.handleSignals) {
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  }

  const runOne = async (spec: PhaseSpec, search: RunResult | undefined): Promise<RunResult> => {
    const paths = runPaths(opts.resultsDir, spec);
    const label = runLabel(spec);
    const existing = readRecord(paths.record);
    if (existing && isFinished(existing)) {
      if (canonical(existing.config) !== canonical(spec.work.config)) {
        warnings.push(`${label}: kept a finished record made with a different config (use --fresh to redo)`);
      }
      reporter.log(`[${label}] ${existing.status} (kept from ${existing.finishedAt})`);
      return { spec, recordPath: paths.record, record: existing, action: 'kept' };
    }
    if (interruptedBy !== undefined) return { spec, recordPath: paths.record, action: 'interrupted' };
    await fs.promises.mkdir(paths.outDir, { recursive: true });
    if (existing) await moveAside(paths.record, existing, paths.previousRecords);

    let work = spec.work;
    if (search) {
      const s = search.record;
      const now = new Date().toISOString();
      let why: string | undefined;
      if (!s) why = 'search did not run (runner interrupted)';
      else if (s.status !== 'ok') why = `search ${s.status}: ${s.error ?? 'no error message'}`;
      else if (!fs.existsSync(runPaths(opts.resultsDir, search.spec).genotype)) {
        why = `search failed: it finished but wrote no genotype at ${runPaths(opts.resultsDir, search.spec).genotype}`;
      }
      if (why !== undefined) {
        const record = runnerRecord({ spec, status: 'failed', error: why, startedAt: now, finishedAt: now });
        await writeJsonAtomic(paths.record, record);
        reporter.log(`[${label}] failed: ${why} (not run)`);
        return { spec, recordPath: paths.record, record, action: 'not-run' };
      }
      if (work.kind === 'eval') work = { ...work, genotype: runPaths(opts.resultsDir, search.spec).genotype };
    }
    const resolved: PhaseSpec = { ...spec, work };
    await writeJsonAtomic(paths.spec, resolved);
    const record = await runChild(resolved, paths, label);
    return { spec, recordPath: paths.record, record, action: 'ran' };
  };

  const runChild = async (spec: PhaseSpec, paths: ReturnType<typeof runPaths>, label: string): Promise<RunRecord> => {
    const startedAt = new Date();
    const log = fs.createWriteStream(paths.log, { flags: 'a' });
    log.write(`--- attempt ${startedAt.toISOString()}${opts.resume ? ' (resume)' : ''} ---\n`);
    const args = [binPath(), '_phase', '--spec', paths.spec, '--record', paths.record, '--out-dir', paths.outDir];
    if (opts.resume) args.push('--resume');
    const sub = execa(process.execPath, args, {
      detached: true,
      cleanup: false,
      reject: false,
      buffer: false,
      stdin: 'ignore',
      stdout: 'pipe',
      stderr: 'pipe',
      env: { FORCE_COLOR: '0' },
    });
    const pid = sub.pid;
    let started: Extract<ChildMessage, { type: 'started' }> | undefined;
    let snapshot: MeasureSnapshot | undefined;
    const stderrTail: string[] = [];
    let killReason: { status: RunStatus; error: string } | undefined;
    let graceTimer: NodeJS.Timeout | undefined;

    const stop = (status: RunStatus, error: string): void => {
      if (killReason || pid === undefined) return;
      killReason = { status, error };
      killGroup(pid, 'SIGTERM');
      graceTimer = setTimeout(() => killGroup(pid, 'SIGKILL'), grace);
    };
    const timeoutTimer =
      spec.timeoutSeconds > 0
        ? setTimeout(
            () => stop('timeout', `timed out after ${spec.timeoutSeconds} s; the process tree was killed`),
            spec.timeoutSeconds * 1000,
          )
        : undefined;

    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
      sub.once('exit', (code, signal) => resolve({ code, signal }));
      sub.once('error', () => resolve({ code: null, signal: null }));
    });
    if (pid !== undefined) {
      active.set(pid, { interrupt: (reason) => stop('failed', reason) });
      reporter.start(String(pid), label);
      opts.onChildStart?.(spec, pid);
    }

    const outLines = readline.createInterface({ input: sub.stdout!, crlfDelay: Infinity });
    outLines.on('line', (line) => {
      const msg = decodeChildMessage(line);
      if (!msg) {
        log.write(line + '\n');
        return;
      }
      if (msg.type === 'started') started = msg;
      else if (msg.type === 'progress') {
        snapshot = msg.measures;
        reporter.update(String(pid), msg.progress);
        opts.onProgress?.(spec, msg.progress, pid!);
      }
    });
    const errLines = readline.createInterface({ input: sub.stderr!, crlfDelay: Infinity });
    errLines.on('line', (line) => {
      log.write(line + '\n');
      stderrTail.push(line);
      if (stderrTail.length > 40) stderrTail.shift();
    });

    const { code, signal } = await exited;
    if (timeoutTimer) clearTimeout(timeoutTimer);
    if (graceTimer) clearTimeout(graceTimer);
    if (pid !== undefined) {
      killGroup(pid, 'SIGKILL'); // whatever the child left behind in its group goes too
      active.delete(pid);
    }
    // Let the pipes drain (the group is dead, so they close); do not wait forever on a stray holder.
    await Promise.race([sub.catch(() => undefined), new Promise((r) => setTimeout(r, 10_000).unref())]);
    sub.stdout?.destroy();
    sub.stderr?.destroy();
    const finishedAt = new Date();
    log.write(`--- exit ${signal ?? code} after ${((finishedAt.getTime() - startedAt.getTime()) / 1000).toFixed(1)} s ---\n`);
    await new Promise<void>((r) => log.end(r));

    let record = readRecord(paths.record);
    if (!record || (killReason && !isFinished(record))) {
      // The child wrote nothing (or, interrupted, only a failure): the runner writes what happened.
      const tail = stderrTail.filter((l) => l.trim()).slice(-5).join(' | ').slice(-1000);
      const error =
        killReason?.error ??
        (signal
          ? `child process killed by ${signal}${tail ? `; last stderr: ${tail}` : ''}`
          : `child process exited with code ${code} without writing a record${tail ? `; last stderr: ${tail}` : ''}`);
      record = runnerRecord({
        spec,
        status: killReason?.status ?? 'failed',
        error,
        startedAt: startedAt.toISOString(),
        finishedAt: finishedAt.toISOString(),
        env: started?.env,
        deviceClass: started?.deviceClass,
        snapshot,
        wallSeconds: (finishedAt.getTime() - startedAt.getTime()) / 1000,
      });
      await writeJsonAtomic(paths.record, record);
    }
    if (pid !== undefined) reporter.finish(String(pid), record.status, record.error);
    return record;
  };

  // Chains: for each (method, seed), search then eval. Each phase takes a slot of the limit separately.
  const chains = new Map<string, PhaseSpec[]>();
  for (const s of specs) {
    const key = JSON.stringify([s.suite, s.method, s.seed]);
    chains.set(key, [...(chains.get(key) ?? []), s]);
  }
  const order: Record<Phase, number> = { search: 0, eval: 1 };
  try {
    await Promise.all(
      [...chains.values()].map(async (chain) => {
        chain.sort((a, b) => order[a.phase] - order[b.phase]);
        let search: RunResult | undefined;
        for (const spec of chain) {
          const res = await limit(() => runOne(spec, spec.phase === 'eval' ? search : undefined)).catch((err: unknown) => {
            throw new Error(`${runLabel(spec)}: the runner itself failed: ${errorText(err)}`);
          });
          results.push(res);
          if (spec.phase === 'search') search = res;
        }
      }),
    );
  } finally {
    if (opts.handleSignals) {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  }

  const counts: Record<RunStatus, number> = { ok: 0, failed: 0, timeout: 0, diverged: 0 };
  for (const r of results) if (r.record) counts[r.record.status]++;
  // Report in plan order, not completion order.
  const index = new Map(specs.map((s, i) => [s, i]));
  results.sort((a, b) => (index.get(a.spec) ?? 0) - (index.get(b.spec) ?? 0));
  return { results, counts, interrupted: interruptedBy !== undefined, warnings };
}
