// CLI: the regression gate and the history commands.
//   entrannas-bench compare --base <commit|file> [--head <commit|file>] [--factor 1.1] [--alpha 0.05]
//                           [--untested-factor F] [--history DIR] [--machine-class C] [--backend B] [--json]
//   entrannas-bench history steps [--measure M] [--history DIR] [--machine-class C] [--json] ...
//   entrannas-bench history record --records DIR [--bench FILE] [--step FILE...] [--commit SHA] [--commit-time ISO] [--history DIR]
// Exit codes: 0 ok; 3 a regression (compare only); 2 bad input (unknown commit, machine-class mismatch, empty
// history); 1 usage errors (commander).
// A commit resolves in <history>/<machine class>/; the machine class is --machine-class, else the class of a
// file given as --base/--head, else this machine's (os.cpus()[0].model and the backend `--backend` picks).
import fs from 'node:fs/promises';
import path from 'node:path';
import { CommanderError, InvalidArgumentError, type Command } from 'commander';
import {
  MachineClassMismatchError,
  benchmarksFromStep,
  buildHistoryEntry,
  findEntry,
  listMachineClasses,
  localMachineFields,
  machineClass,
  readHistory,
  readHistoryEntry,
  writeHistoryEntry,
  type BenchReportInput,
  type HistoryEntry,
  type MachineFields,
  type StepReportInput,
} from '../perf/history.js';
import { isFile } from '../../nas/util/fs.js';
import { compare, formatComparison, formatValue, type ComparisonReport } from '../perf/compare.js';
import { findSteps, type MeasureSteps } from '../perf/steps.js';
import type { EnvProvenance, RunRecord } from '../results/record.js';
import { registerHistoryExport } from './history-export.js';

export const EXIT_OK = 0;
export const EXIT_INPUT = 2;
export const EXIT_REGRESSION = 3;
export const DEFAULT_HISTORY_DIR = path.join('results', 'history');

/** Bad input: reported with exit code 2. */
export class InputError extends Error {
  override name = 'InputError';
}

export interface CommandIO {
  out(text: string): void;
  err(text: string): void;
  /** This machine's machine-class fields (default: os.cpus() and the backend nas/backend.ts would pick). */
  probe?(backend: string): Promise<MachineFields>;
}

const defaultIO: CommandIO = {
  out: (t) => void process.stdout.write(t),
  err: (t) => void process.stderr.write(t),
};

/**
 * Initialise the backend `choice` would pick and describe this machine the way run records do (harness/env.ts:
 * CPU model from os.cpus(), GPU model from nvidia-smi). Loads tfjs; only used without --machine-class.
 */
export async function probeLocalMachine(choice = 'auto'): Promise<MachineFields> {
  const { initBackend, isBackendChoice } = await import('../../nas/backend.js');
  const env = await import('../measure/env.js');
  if (!isBackendChoice(choice)) throw new InputError(`unknown backend "${choice}"`);
  const info = await initBackend(choice);
  return localMachineFields(info, [{ model: env.cpuModel() }], info.device === 'gpu' ? env.gpuModel() : undefined);
}

async function resolveClass(explicit: string | undefined, files: HistoryEntry[], backend: string, io: CommandIO): Promise<string> {
  if (explicit) return explicit;
  if (files.length > 0) return files[0].machineClass;
  return machineClass(await (io.probe ?? probeLocalMachine)(backend));
}

async function loadClassHistory(dir: string, cls: string, io: CommandIO): Promise<HistoryEntry[]> {
  const entries = await readHistory(dir, cls, { onSkip: (file, why) => io.err(`skipped ${file}: ${why}\n`) });
  if (entries.length === 0) {
    const classes = await listMachineClasses(dir);
    throw new InputError(
      `no history for machine class ${cls} in ${dir}` +
        (classes.length ? ` (classes with history: ${classes.join(', ')}); pass --machine-class` : ''),
    );
  }
  return entries;
}

export interface CompareCommandOptions {
  base: string;
  head?: string;
  factor?: number;
  alpha?: number;
  untestedFactor?: number;
  history?: string;
  machineClass?: string;
  backend?: string;
  json?: boolean;
}

/** What `compare` does; returns the exit code (3 on a regression) and the report. Throws InputError on bad input. */
export async function runCompare(
  opts: CompareCommandOptions,
  io: CommandIO = defaultIO,
): Promise<{ exitCode: number; report: ComparisonReport }> {
  const dir = opts.history ?? DEFAULT_HISTORY_DIR;
  const load = async (ref: string | undefined) => (ref !== undefined && (await isFile(ref)) ? readHistoryEntry(ref) : undefined);
  const baseFile = await load(opts.base);
  const headFile = await load(opts.head);
  const files = [baseFile, headFile].filter((e): e is HistoryEntry => e !== undefined);
  let base = baseFile;
  let head = headFile;
  if (!base || !head) {
    const cls = await resolveClass(opts.machineClass, files, opts.backend ?? 'auto', io);
    const entries = await loadClassHistory(dir, cls, io);
    try {
      base ??= findEntry(entries, opts.base);
      if (!head && opts.head !== undefined) head = findEntry(entries, opts.head);
    } catch (err) {
      throw new InputError(`${err instanceof Error ? err.message : String(err)} (machine class ${cls}, ${dir})`);
    }
    if (!head) {
      head = entries[entries.length - 1];
      if (head === base) throw new InputError(`base ${base.commit} is the newest entry for ${cls}: nothing to compare it with`);
    }
  }
  if (opts.machineClass && base.machineClass !== opts.machineClass) {
    throw new InputError(new MachineClassMismatchError(opts.machineClass, base.machineClass).message);
  }
  let report: ComparisonReport;
  try {
    report = compare(base, head, { factor: opts.factor, alpha: opts.alpha, untestedFactor: opts.untestedFactor });
  } catch (err) {
    throw new InputError(err instanceof Error ? err.message : String(err));
  }
  io.out(opts.json ? JSON.stringify(report, null, 2) + '\n' : formatComparison(report));
  return { exitCode: report.regressed ? EXIT_REGRESSION : EXIT_OK, report };
}

export interface StepsCommandOptions {
  measure?: string;
  history?: string;
  machineClass?: string;
  backend?: string;
  beta?: number;
  minSegment?: number;
  minRatio?: number;
  json?: boolean;
}

export function formatSteps(results: MeasureSteps[]): string {
  const lines: string[] = [];
  for (const r of results) {
    for (const s of r.steps) {
      lines.push(
        `${s.kind === 'regression' ? '+' : '-'} ${r.measure}: ${s.kind} at ${s.commit} (after ${s.previousCommit}, ` +
          `${s.timestamp}): ${formatValue(s.before, r.unit)} → ${formatValue(s.after, r.unit)}, ratio ${s.ratio.toFixed(3)}`,
      );
    }
  }
  const withSteps = results.filter((r) => r.steps.length > 0).length;
  lines.push(`${withSteps} of ${results.length} measure${results.length === 1 ? '' : 's'} with steps`);
  return lines.join('\n') + '\n';
}

/** What `history steps` does. */
export async function runSteps(
  opts: StepsCommandOptions,
  io: CommandIO = defaultIO,
): Promise<{ exitCode: number; results: MeasureSteps[] }> {
  const dir = opts.history ?? DEFAULT_HISTORY_DIR;
  const cls = await resolveClass(opts.machineClass, [], opts.backend ?? 'auto', io);
  const entries = await loadClassHistory(dir, cls, io);
  const results = findSteps(entries, { measure: opts.measure, beta: opts.beta, minSegment: opts.minSegment, minRatio: opts.minRatio });
  if (opts.measure !== undefined && results.length === 0) throw new InputError(`no measure matches "${opts.measure}" in ${cls}`);
  io.out(opts.json ? JSON.stringify({ machineClass: cls, entries: entries.length, results }, null, 2) + '\n' : `${cls}: ${entries.length} commits\n` + formatSteps(results));
  return { exitCode: EXIT_OK, results };
}

async function jsonFilesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const d of await fs.readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, d.name);
    if (d.isDirectory()) out.push(...(await jsonFilesUnder(p)));
    else if (d.isFile() && d.name.endsWith('.json')) out.push(p);
  }
  return out.sort();
}

function looksLikeRecord(v: unknown): v is RunRecord {
  const r = v as RunRecord;
  return typeof r === 'object' && r !== null && typeof r.suite === 'string' && typeof r.method === 'string' &&
    (r.phase === 'search' || r.phase === 'eval') && typeof r.env === 'object' && r.env !== null;
}

export interface RecordCommandOptions {
  records?: string;
  bench?: string;
  step?: string[];
  commit?: string;
  commitTime?: string;
  machineClass?: string;
  history?: string;
}

async function readStep(file: string): Promise<StepReportInput> {
  try {
    return JSON.parse(await fs.readFile(file, 'utf8')) as StepReportInput;
  } catch (err) {
    throw new Error(`${file}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** What `history record` does: build an entry from the bench JSON and the run records under a directory, write it. */
export async function runRecord(opts: RecordCommandOptions, io: CommandIO = defaultIO): Promise<{ exitCode: number; file: string; entry: HistoryEntry }> {
  if (!opts.records && !opts.bench && !opts.step?.length) throw new InputError('history record needs --records DIR, --bench FILE and/or --step FILE');
  const records: RunRecord[] = [];
  if (opts.records) {
    for (const file of await jsonFilesUnder(opts.records)) {
      let v: unknown;
      try {
        v = JSON.parse(await fs.readFile(file, 'utf8'));
      } catch (err) {
        throw new InputError(`${file}: ${err instanceof Error ? err.message : String(err)}`);
      }
      if (looksLikeRecord(v)) records.push(v);
    }
    if (records.length === 0) io.err(`no run records under ${opts.records}\n`);
  }
  let entry: HistoryEntry;
  try {
    const bench = opts.bench ? (JSON.parse(await fs.readFile(opts.bench, 'utf8')) as BenchReportInput) : undefined;
    const steps: StepReportInput[] = [];
    for (const file of opts.step ?? []) steps.push(await readStep(file));
    const env = !bench && records.length === 0 ? (steps[0] as { env?: EnvProvenance } | undefined)?.env : undefined;
    entry = buildHistoryEntry(bench, records, { commit: opts.commit, commitTime: opts.commitTime, machineClass: opts.machineClass, env });
    for (const [i, st] of steps.entries()) {
      if (!opts.machineClass && st.machineClass && st.machineClass !== entry.machineClass) {
        throw new Error(`${opts.step![i]}: measured on machine class ${st.machineClass}, the entry is ${entry.machineClass}`);
      }
      for (const [name, set] of Object.entries(benchmarksFromStep(st))) {
        if (entry.benchmarks[name]) throw new Error(`${opts.step![i]}: measure ${name} given twice`);
        entry.benchmarks[name] = set;
      }
    }
  } catch (err) {
    throw new InputError(err instanceof Error ? err.message : String(err));
  }
  const file = await writeHistoryEntry(opts.history ?? DEFAULT_HISTORY_DIR, entry);
  io.out(`wrote ${file} (${Object.keys(entry.benchmarks).length} benchmarks, ${Object.keys(entry.efficiency).length} suite/method figures)\n`);
  return { exitCode: EXIT_OK, file, entry };
}

// ---------------------------------------------------------------------------------------------------------------

function parseNumber(what: string, min: number, max = Infinity, exclusiveMin = true) {
  return (v: string): number => {
    const x = Number(v);
    if (!Number.isFinite(x) || (exclusiveMin ? x <= min : x < min) || x > max) {
      throw new InvalidArgumentError(`${what} must be a number ${exclusiveMin ? 'above' : 'at least'} ${min}${max < Infinity ? ` and at most ${max}` : ''}`);
    }
    return x;
  };
}

async function act<T extends { exitCode: number }>(cmd: Command, io: CommandIO, run: () => Promise<T>): Promise<void> {
  try {
    process.exitCode = (await run()).exitCode;
  } catch (err) {
    if (!(err instanceof InputError)) throw err;
    // Bad input, not bad usage: say what is wrong without the usage text, and exit 2.
    const where = cmd.parent && cmd.parent.parent ? `${cmd.parent.name()} ${cmd.name()}` : cmd.name();
    io.err(`entrannas-bench ${where}: ${err.message}\n`);
    throw new CommanderError(EXIT_INPUT, 'entrannas.input', err.message);
  }
}

export function register(program: Command, io: CommandIO = defaultIO): void {
  program
    .command('compare')
    .description(
      'Compare two history entries (same machine class). A measure regresses when its median ratio passes --factor ' +
        `AND the Mann–Whitney U test gives p ≤ --alpha. Exit code ${EXIT_REGRESSION} on a regression, ${EXIT_INPUT} on bad input.`,
    )
    .requiredOption('--base <commit|file>', 'base: a commit in the history (unique prefix ok) or a history JSON file')
    .option('--head <commit|file>', 'head: a commit or file (default: the newest entry of the machine class)')
    .option('--factor <x>', 'ratio a change must pass', parseNumber('--factor', 1), 1.1)
    .option('--alpha <p>', 'significance level', parseNumber('--alpha', 0, 1), 0.05)
    .option('--untested-factor <x>', 'flag measures with too few samples to test when their ratio passes this (off by default)', parseNumber('--untested-factor', 1))
    .option('--history <dir>', 'history directory', DEFAULT_HISTORY_DIR)
    .option('--machine-class <class>', "machine class (default: this machine's)")
    .option('--backend <name>', 'backend that decides this machine\'s class', 'auto')
    .option('--json', 'print the report as JSON')
    .action(async function (this: Command, opts: CompareCommandOptions) {
      await act(this, io, () => runCompare(opts, io));
    });

  const history = program.command('history').description('Benchmark history per machine class and commit');
  registerHistoryExport(history, io);
  history
    .command('steps')
    .description('Detect lasting steps in the nightly series of each measure (first commit of each change)')
    .option('--measure <name>', 'one measure (exact name, else every name containing it)')
    .option('--history <dir>', 'history directory', DEFAULT_HISTORY_DIR)
    .option('--machine-class <class>', "machine class (default: this machine's)")
    .option('--backend <name>', 'backend that decides this machine\'s class', 'auto')
    .option('--beta <x>', 'penalty per step, in units of noise × ln(n)', parseNumber('--beta', 0), 3)
    .option('--min-segment <n>', 'commits a level must last', parseNumber('--min-segment', 1, Infinity, false), 3)
    .option('--min-ratio <x>', 'levels closer than this ratio are merged', parseNumber('--min-ratio', 1, Infinity, false), 1.05)
    .option('--json', 'print the steps as JSON')
    .action(async function (this: Command, opts: StepsCommandOptions) {
      await act(this, io, () => runSteps(opts, io));
    });
  history
    .command('record')
    .description('Write the history entry of this commit from the bench JSON and the nightly run records')
    .option('--records <dir>', 'directory of run records (searched recursively)')
    .option('--bench <file>', 'bench command JSON output')
    .option('--step <files...>', '`bench step --json` outputs: step times (ms) and peak RSS as step/<method>/<size> measures')
    .option('--commit <sha>', 'commit (default: the records\' env.gitCommit)')
    .option('--commit-time <iso>', 'committer date, orders the series (default: now)')
    .option('--machine-class <class>', 'override the machine class computed from the records')
    .option('--history <dir>', 'history directory', DEFAULT_HISTORY_DIR)
    .action(async function (this: Command, opts: RecordCommandOptions) {
      await act(this, io, () => runRecord(opts, io));
    });
}
