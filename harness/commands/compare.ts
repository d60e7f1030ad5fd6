// CLI: the regression gate.
//   entrannas-bench compare --base <commit|file> [--head <commit|file>] [--factor 1.1] [--alpha 0.05]
//                           [--untested-factor F] [--history DIR] [--machine-class C] [--backend B] [--json]
// Exit codes (commands/common.ts EXIT): ok; regression when a measure slowed down significantly; failed when a
// measure of the base is missing from the head (a benchmark that stopped running must not pass the gate; allow it
// with --allow-missing); usage for bad flags and bad input (unknown commit, machine-class mismatch, empty history).
// A commit resolves in <history>/<machine class>/; the machine class is --machine-class, else the class of a
// file given as --base/--head, else this machine's (os.cpus()[0].model and the backend `--backend` picks).
import type { Command } from 'commander';
import type { BackendChoice } from '../../nas/backend.js';
import { isFile } from '../../nas/util/fs.js';
import { MachineClassMismatchError, type MachineProbe } from '../measure/machine.js';
import { compare, formatComparison, type ComparisonReport } from '../perf/compare.js';
import {
  DEFAULT_HISTORY_DIR,
  HistoryLookupError,
  findEntry,
  readClassHistory,
  readHistoryEntry,
  resolveMachineClass,
  type HistoryEntry,
} from '../perf/history.js';
import { EXIT, InputError, act, processIO, subcommand, type CommandIO } from './common.js';
import { backendOption, rangeOption } from './flags.js';

/** The command's IO; `probe` describes this machine (tests pass their own instead of starting a backend). */
export interface CompareIO extends CommandIO {
  probe?: MachineProbe;
}

export interface CompareCommandOptions {
  base: string;
  head?: string;
  factor?: number;
  alpha?: number;
  untestedFactor?: number;
  history?: string;
  machineClass?: string;
  backend?: BackendChoice;
  json?: boolean;
  /** Do not fail when measures of the base are missing from the head. */
  allowMissing?: boolean;
}

/** What `compare` does; returns the exit code (EXIT.regression on a regression) and the report. Throws InputError on bad input. */
export async function runCompare(
  opts: CompareCommandOptions,
  io: CompareIO = processIO,
): Promise<{ exitCode: number; report: ComparisonReport }> {
  const dir = opts.history ?? DEFAULT_HISTORY_DIR;
  const load = async (ref: string | undefined) => (ref !== undefined && (await isFile(ref)) ? readHistoryEntry(ref) : undefined);
  const baseFile = await load(opts.base);
  const headFile = await load(opts.head);
  const files = [baseFile, headFile].filter((e): e is HistoryEntry => e !== undefined);
  let base = baseFile;
  let head = headFile;
  if (!base || !head) {
    const cls = await resolveMachineClass(opts.machineClass, files, opts.backend ?? 'auto', io.probe);
    try {
      const entries = await readClassHistory(dir, cls, { onSkip: (file, why) => io.err(`skipped ${file}: ${why}\n`) });
      try {
        base ??= findEntry(entries, opts.base);
        if (!head && opts.head !== undefined) head = findEntry(entries, opts.head);
      } catch (err) {
        throw new HistoryLookupError(`${err instanceof Error ? err.message : String(err)} (machine class ${cls}, ${dir})`);
      }
      if (!head) {
        head = entries[entries.length - 1];
        if (head === base) throw new HistoryLookupError(`base ${base.commit} is the newest entry for ${cls}: nothing to compare it with`);
      }
    } catch (err) {
      if (err instanceof HistoryLookupError) throw new InputError(err.message);
      throw err;
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
  const missing = report.results.filter((r) => r.verdict === 'only in base').map((r) => r.name);
  const failsOnMissing = missing.length > 0 && !opts.allowMissing;
  const exitCode = report.regressed ? EXIT.regression : failsOnMissing ? EXIT.failed : EXIT.ok;
  const missingLine = missing.length === 0 ? '' :
    `${failsOnMissing ? 'FAILED' : 'warning'}: ${missing.length} measure(s) of the base are missing from the head ` +
    `(${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ', …' : ''})${failsOnMissing ? '; pass --allow-missing if they were removed on purpose' : ''}`;
  if (opts.json) io.out(JSON.stringify({ ...report, missingFromHead: missing, exitCode, passed: exitCode === EXIT.ok }, null, 2) + '\n');
  else io.out(formatComparison(report) + (missingLine ? `${missingLine}\n` : ''));
  if (opts.json && missingLine) io.err(`${missingLine}\n`);
  return { exitCode, report };
}

export function register(program: Command, io: CompareIO = processIO): void {
  subcommand(program, 'compare')
    .description(
      'Compare two history entries (same machine class). A measure regresses when its median ratio passes --factor ' +
        `AND the Mann–Whitney U test gives p ≤ --alpha. Exit code ${EXIT.regression} on a regression, ${EXIT.failed} when ` +
        `a measure of the base is missing from the head (unless --allow-missing), ${EXIT.usage} on bad input.`,
    )
    .requiredOption('--base <commit|file>', 'base: a commit in the history (unique prefix ok) or a history JSON file')
    .option('--head <commit|file>', 'head: a commit or file (default: the newest entry of the machine class)')
    .option('--factor <x>', 'ratio a change must pass', rangeOption('--factor', 1), 1.1)
    .option('--alpha <p>', 'significance level', rangeOption('--alpha', 0, 1), 0.05)
    .option('--untested-factor <x>', 'flag measures with too few samples to test when their ratio passes this (off by default)', rangeOption('--untested-factor', 1))
    .option('--history <dir>', 'history directory', DEFAULT_HISTORY_DIR)
    .option('--machine-class <class>', "machine class (default: this machine's)")
    .addOption(backendOption("backend that decides this machine's class"))
    .option('--json', 'print the report as JSON (with missingFromHead, exitCode, passed)')
    .option('--allow-missing', 'do not fail when measures of the base are missing from the head')
    .action(async function (this: Command, opts: CompareCommandOptions) {
      await act(this, io, () => runCompare(opts, io));
    });
}
