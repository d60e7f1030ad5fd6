// CLI: the benchmark history (harness/perf/history.ts).
//   entrannas-bench history steps [--measure M] [--history DIR] [--machine-class C] [--backend B] [--json] ...
//   entrannas-bench history record [--records DIR] [--bench FILE] [--step FILE...] [--commit SHA] [--commit-time ISO]
//                                  [--machine-class C] [--history DIR]
// Exit codes (commands/common.ts EXIT): ok; usage for bad flags and bad input (empty history, unreadable or
// inconsistent inputs).
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import type { BackendChoice } from '../../nas/backend.js';
import type { MachineProbe } from '../measure/machine.js';
import type { RunRecord } from '../results/record.js';
import { DEFAULT_HISTORY_DIR, HistoryLookupError, readClassHistory, resolveMachineClass, writeHistoryEntry, type HistoryEntry } from '../perf/history.js';
import { benchmarksFromStep, buildHistoryEntry, type BenchJson, type StepJson } from '../perf/history-entry.js';
import { findSteps, formatSteps, type MeasureSteps } from '../perf/steps.js';
import { EXIT, InputError, act, processIO, subcommand, type CommandIO } from './common.js';
import { backendOption, rangeOption } from './flags.js';

export interface StepsCommandOptions {
  measure?: string;
  history?: string;
  machineClass?: string;
  backend?: BackendChoice;
  beta?: number;
  minSegment?: number;
  minRatio?: number;
  json?: boolean;
}

/** What `history steps` does; `io.probe` describes this machine (tests pass their own). */
export async function runSteps(
  opts: StepsCommandOptions,
  io: CommandIO & { probe?: MachineProbe } = processIO,
): Promise<{ exitCode: number; results: MeasureSteps[] }> {
  const dir = opts.history ?? DEFAULT_HISTORY_DIR;
  const cls = await resolveMachineClass(opts.machineClass, [], opts.backend ?? 'auto', io.probe);
  let entries: HistoryEntry[];
  try {
    entries = await readClassHistory(dir, cls, { onSkip: (file, why) => io.err(`skipped ${file}: ${why}\n`) });
  } catch (err) {
    if (err instanceof HistoryLookupError) throw new InputError(err.message);
    throw err;
  }
  const results = findSteps(entries, { measure: opts.measure, beta: opts.beta, minSegment: opts.minSegment, minRatio: opts.minRatio });
  if (opts.measure !== undefined && results.length === 0) throw new InputError(`no measure matches "${opts.measure}" in ${cls}`);
  io.out(opts.json ? JSON.stringify({ machineClass: cls, entries: entries.length, results }, null, 2) + '\n' : `${cls}: ${entries.length} commits\n` + formatSteps(results));
  return { exitCode: EXIT.ok, results };
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

/**
 * --records takes any directory (a results directory, a CI artifact, a copy): every JSON file under it that has
 * a record's identifying fields is used, anything else is passed over. Not results/store.ts readRecords, which
 * reads one results layout and validates every file in it.
 */
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
  /** Print {file, commit, machineClass, benchmarks, figures} as JSON instead of the sentence. */
  json?: boolean;
}

async function readStep(file: string): Promise<StepJson> {
  try {
    return JSON.parse(await fs.readFile(file, 'utf8')) as StepJson;
  } catch (err) {
    throw new Error(`${file}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** What `history record` does: build an entry from the bench JSON and the run records under a directory, write it. */
export async function runRecord(opts: RecordCommandOptions, io: CommandIO = processIO): Promise<{ exitCode: number; file: string; entry: HistoryEntry }> {
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
    const bench = opts.bench ? (JSON.parse(await fs.readFile(opts.bench, 'utf8')) as BenchJson) : undefined;
    const steps: StepJson[] = [];
    for (const file of opts.step ?? []) steps.push(await readStep(file));
    const env = !bench && records.length === 0 ? steps[0]?.env : undefined;
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
  const benchmarks = Object.keys(entry.benchmarks).length;
  const figures = Object.keys(entry.efficiency).length;
  if (opts.json) io.out(JSON.stringify({ file, commit: entry.commit, machineClass: entry.machineClass, benchmarks, figures }) + '\n');
  else io.out(`wrote ${file} (${benchmarks} benchmarks, ${figures} suite/method figures)\n`);
  return { exitCode: EXIT.ok, file, entry };
}

export function register(program: Command, io: CommandIO & { probe?: MachineProbe } = processIO): void {
  const history = subcommand(program, 'history').description('Benchmark history per machine class and commit');
  subcommand(history, 'steps')
    .description('Detect lasting steps in the nightly series of each measure (first commit of each change)')
    .option('--measure <name>', 'one measure (exact name, else every name containing it)')
    .option('--history <dir>', 'history directory', DEFAULT_HISTORY_DIR)
    .option('--machine-class <class>', "machine class (default: this machine's)")
    .addOption(backendOption("backend that decides this machine's class"))
    .option('--beta <x>', 'penalty per step, in units of noise × ln(n)', rangeOption('--beta', 0), 3)
    .option('--min-segment <n>', 'commits a level must last', rangeOption('--min-segment', 1, Infinity, false), 3)
    .option('--min-ratio <x>', 'levels closer than this ratio are merged', rangeOption('--min-ratio', 1, Infinity, false), 1.05)
    .option('--json', 'print the steps as JSON')
    .action(async function (this: Command, opts: StepsCommandOptions) {
      await act(this, io, () => runSteps(opts, io));
    });
  subcommand(history, 'record')
    .description('Write the history entry of this commit from the bench JSON and the nightly run records')
    .option('--records <dir>', 'directory of run records (searched recursively)')
    .option('--bench <file>', 'bench command JSON output')
    .option('--step <files...>', '`bench step --json` outputs: step times (ms) and peak RSS as step/<method>/<size> measures')
    .option('--commit <sha>', 'commit (default: the records\' env.gitCommit)')
    .option('--commit-time <iso>', 'committer date, orders the series (default: now)')
    .option('--machine-class <class>', 'override the machine class computed from the records')
    .option('--history <dir>', 'history directory', DEFAULT_HISTORY_DIR)
    .option('--json', 'print {file, commit, machineClass, benchmarks, figures} as JSON (for scripts)')
    .action(async function (this: Command, opts: RecordCommandOptions) {
      await act(this, io, () => runRecord(opts, io));
    });
}
