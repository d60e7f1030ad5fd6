// CLI: judge.
//   entrannas-bench judge --values 2.61,2.70,2.66 (--suite S --row R [--metric M] | --target T [--target-sd SD
//                         --target-n N] [--tolerance X] [--direction lower|higher] [--aggregate mean-of-k|best-of-k]
//                         [--k K]) [--json]
// Judges anyone's reproduction (a PyTorch run included) against a target with the statistics of
// harness/results/judgement.ts, and prints the verdict with its basis in one sentence.
import { InvalidArgumentError, Option, type Command } from 'commander';
import { judgeValues, type Aggregate, type Direction, type JudgeTarget } from '../results/judgement.js';
import { loadSuite } from '../suites/suite.js';
import { METRICS, verdictTarget, type Metric, type Target } from '../suites/targets.js';
import { EXIT, InputError, act, processIO, subcommand, type CommandIO } from './common.js';
import { floatOption, intOption } from './flags.js';

export interface JudgeOptions {
  values: number[];
  suite?: string;
  row?: string;
  metric?: string;
  target?: number;
  targetSd?: number;
  targetN?: number;
  tolerance?: number;
  direction?: Direction;
  aggregate?: Aggregate;
  k?: number;
  json?: boolean;
}

function valuesOption(v: string): number[] {
  const parts = v.split(',').map((s) => s.trim());
  if (parts.some((p) => p === '')) throw new InvalidArgumentError(`--values must be a comma-separated list of numbers, got "${v}"`);
  return parts.map((p) => {
    const x = Number(p);
    if (!Number.isFinite(x)) throw new InvalidArgumentError(`--values: "${p}" is not a number`);
    return x;
  });
}

/** Bounds the flag parsers cannot see when judgeCommand is called as a function. */
function atLeast(flag: string, v: number | undefined, min: number): void {
  if (v !== undefined && !(v >= min)) throw new InputError(`${flag} must be ≥ ${min}, got ${v}`);
}

/** The target from a suite row: the metric given, else the row's verdict target. */
function suiteTarget(o: JudgeOptions): { target: Target; label: string } {
  if (o.target !== undefined) throw new InputError('--target and --suite exclude each other: give the target by hand or name a suite row');
  if (!o.row) throw new InputError('--suite needs --row (a row id of the suite)');
  let suite;
  try {
    suite = loadSuite(o.suite!);
  } catch (err) {
    throw new InputError((err as Error).message);
  }
  const row = suite.methods.find((m) => m.id === o.row);
  if (!row) throw new InputError(`--row: suite ${suite.name} has no row "${o.row}" (rows: ${suite.methods.map((m) => m.id).join(', ')})`);
  if (o.metric !== undefined && !(METRICS as readonly string[]).includes(o.metric)) {
    throw new InputError(`--metric: unknown metric "${o.metric}" (known: ${METRICS.join(', ')})`);
  }
  const target = o.metric === undefined ? verdictTarget(row.targets) : row.targets.find((t) => t.metric === (o.metric as Metric));
  if (!target) {
    throw new InputError(o.metric === undefined
      ? `--row ${o.row}: the row has no verdict target; name one with --metric (targets: ${row.targets.map((t) => t.metric).join(', ') || 'none'})`
      : `--metric: row ${o.row} of ${suite.name} has no ${o.metric} target (targets: ${row.targets.map((t) => t.metric).join(', ') || 'none'})`);
  }
  return { target, label: `${suite.name}/${row.id} ${target.metric} [${target.tag}]` };
}

export function judgeCommand(o: JudgeOptions, io: CommandIO = processIO): { exitCode: number } {
  if (o.values.length === 0) throw new InputError('--values: no values');
  atLeast('--target-sd', o.targetSd, 0);
  atLeast('--target-n', o.targetN, 2);
  atLeast('--tolerance', o.tolerance, 0);
  atLeast('--k', o.k, 1);
  let jt: JudgeTarget;
  let tolerance: number;
  let direction: Direction;
  let label: string;
  let tag: string | undefined;
  let note = '';
  if (o.suite !== undefined) {
    const { target, label: l } = suiteTarget(o);
    jt = {
      // The paper's sd counts only with its n (Welch needs both).
      value: target.value, ...(target.sd !== undefined && target.n !== undefined ? { sd: target.sd, n: target.n } : {}),
      aggregate: target.aggregate === 'best-of-k' ? 'best-of-k' : 'mean-of-k',
      k: o.k ?? (target.aggregate === 'best-of-k' ? target.n : undefined),
    };
    tolerance = o.tolerance ?? target.tolerance;
    direction = o.direction ?? target.direction;
    label = l;
    tag = target.tag;
    if (target.sd !== undefined && target.n === undefined) note = ` The paper's sd ${target.sd} is not used: the source does not state its n.`;
  } else {
    if (o.target === undefined) throw new InputError('give the target: --target T (with --tolerance), or --suite S --row R');
    if (o.tolerance === undefined) throw new InputError('--tolerance is required with --target (how far ours may fall short, in the metric unit)');
    if ((o.targetSd === undefined) !== (o.targetN === undefined)) throw new InputError('--target-sd and --target-n go together: give both or neither');
    jt = { value: o.target, sd: o.targetSd, n: o.targetN, aggregate: o.aggregate ?? 'mean-of-k', k: o.k };
    tolerance = o.tolerance;
    direction = o.direction ?? 'lower';
    label = `target ${o.target}`;
  }
  let j;
  try {
    j = judgeValues({ values: o.values, target: jt, tolerance, direction });
  } catch (err) {
    throw new InputError((err as Error).message);
  }
  const indicative = tag === 'I';
  const verdict = j.verdict === undefined ? 'not judged' : `${j.verdict}${indicative ? ' (indicative: the target is inferred [I])' : ''}`;
  if (o.json) {
    io.out(JSON.stringify({
      verdict: j.verdict ?? 'not judged', indicative, ours: j.ours, sd: j.sd, target: j.target, targetSd: jt.sd, targetN: jt.n,
      tolerance: j.tolerance, margin: j.margin, direction: j.direction, aggregate: j.aggregate, n: j.n, bound: j.bound,
      worseBound: j.worseBound, betterBound: j.betterBound, method: j.method, df: j.df, seedsToSettle: j.seedsToSettle,
      basis: j.basis + note, of: label,
    }) + '\n');
  } else {
    io.out(`${verdict} — ${label}: ${j.basis}.${note}\n`);
  }
  return { exitCode: EXIT.ok };
}

export function register(program: Command, io: CommandIO = processIO): void {
  const cmd = subcommand(program, 'judge')
    .description('judge per-seed values (yours, or any reproduction\'s) against a paper target: reproduced, inconclusive or not reproduced, with the bound that decided')
    .requiredOption('--values <list>', 'comma-separated per-seed values, e.g. 2.61,2.70,2.66', valuesOption)
    .option('--suite <name>', 'take the target from a suite row (with --row, optionally --metric)')
    .option('--row <id>', 'row id of the suite')
    .option('--metric <name>', `metric of the row's targets (default: its verdict target): ${METRICS.join(', ')}`)
    .option('--target <x>', 'the target value (instead of --suite)', floatOption('--target'))
    .option('--target-sd <x>', "the target's published sd (with --target-n: Welch's interval counts the paper's uncertainty)", floatOption('--target-sd'))
    .option('--target-n <n>', 'the number of runs behind the target', intOption('--target-n', 2))
    .option('--tolerance <x>', 'how far ours may fall short, in the metric unit (≥ 0)', floatOption('--tolerance'))
    .addOption(new Option('--direction <d>', 'lower or higher is better').choices(['lower', 'higher']))
    .addOption(new Option('--aggregate <a>', 'how the target aggregates runs').choices(['mean-of-k', 'best-of-k']))
    .option('--k <k>', 'best-of-k: the k of the selection protocol (default: the number of values)', intOption('--k', 1))
    .option('--json', 'print one JSON object')
    .action(async (o: JudgeOptions) => {
      await act(cmd, io, async () => judgeCommand(o, io));
    });
}
