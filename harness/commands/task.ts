// `task --plan <out>/plan.json --index I`: run one run of a frozen plan (what a Slurm array task or a Kubernetes
// pod runs). `--indices 4,6 [--position k]`: run list[k], k from --position or, when absent, from the scheduler's
// JOB_COMPLETION_INDEX (Kubernetes Indexed Job) or SLURM_ARRAY_TASK_ID (Slurm array).
import { InvalidArgumentError, type Command } from 'commander';
import { runLabel } from '../results/layout.js';
import { createReporter } from '../run/progress.js';
import path from 'node:path';
import { readPlan } from '../run/plan-file.js';
import { indexAt, plannedRun, runPlannedTask } from '../run/executors/task.js';
import { EXIT, InputError, act, processIO, subcommand, type CommandIO } from './common.js';
import { intOption } from './flags.js';

const INTERRUPTED = 130;
const POSITION_VARS = ['JOB_COMPLETION_INDEX', 'SLURM_ARRAY_TASK_ID'] as const;

export interface TaskCommandOptions {
  plan: string;
  index?: number;
  indices?: number[];
  position?: number;
}

function indexList(v: string): number[] {
  const parts = v.split(',');
  if (!parts.every((p) => /^\d+$/.test(p.trim()))) throw new InvalidArgumentError(`--indices takes comma-separated plan indices, got "${v}"`);
  return parts.map(Number);
}

/** The plan index the options name; throws InputError naming what is missing. */
export function chosenIndex(o: TaskCommandOptions, env: NodeJS.ProcessEnv = process.env): number {
  if (o.index !== undefined && o.indices !== undefined) throw new InputError('give --index or --indices, not both');
  if (o.index !== undefined) return o.index;
  if (o.indices === undefined) throw new InputError('which run? give --index I, or --indices LIST with --position K');
  let position = o.position;
  if (position === undefined) {
    const name = POSITION_VARS.find((v) => env[v] !== undefined && env[v] !== '');
    if (!name) throw new InputError(`--indices without --position needs ${POSITION_VARS.join(' or ')} in the environment`);
    position = Number(env[name]);
  }
  try {
    return indexAt(o.indices, position);
  } catch (err) {
    throw new InputError((err as Error).message);
  }
}

export async function taskCommand(o: TaskCommandOptions, io: CommandIO, handleSignals = true): Promise<number> {
  const index = chosenIndex(o);
  try {
    plannedRun(readPlan(path.resolve(o.plan)), index, path.resolve(o.plan));
  } catch (err) {
    throw new InputError((err as Error).message);
  }
  const reporter = createReporter(process.stdout);
  let outcome;
  try {
    outcome = await runPlannedTask(o.plan, index, { reporter, handleSignals });
  } finally {
    reporter.close();
  }
  const r = outcome.record;
  const kept = outcome.result.action === 'kept' ? ' (finished earlier; kept)' : '';
  io.out(`task ${index}: ${runLabel(outcome.run)}: ${r?.status ?? 'not run'}${kept}${r?.error ? `: ${r.error}` : ''}\n`);
  if (outcome.interrupted) return INTERRUPTED;
  return r && (r.status === 'ok' || r.status === 'diverged') ? EXIT.ok : EXIT.failed;
}

export function register(program: Command, io: CommandIO = processIO): void {
  subcommand(program, 'task')
    .description('run one run of a frozen plan (`run --plan-only`) with the local runner\'s record, checkpoint and resume rules; ' +
      'a finished run is kept, an unfinished one continues from its checkpoint. Exit 0 ok/diverged, 1 failed/timeout')
    .requiredOption('--plan <file>', 'the plan (<out>/plan.json); the results are written next to it')
    .option('--index <i>', 'plan index of the run', intOption('--index', 0))
    .option('--indices <list>', 'plan indices of a job array; the run is list[position]', indexList)
    .option('--position <k>', `position in --indices (default: $${POSITION_VARS.join(' or $')})`, intOption('--position', 0))
    .action(async function (this: Command, opts: TaskCommandOptions) {
      await act(this, io, async () => ({ exitCode: await taskCommand(opts, io) }));
    });
}
