// `run <suite> --plan-only | --executor slurm|k8s`: freeze the plan into <out>/plan.json and hand its unfinished
// runs to a scheduler (harness/run/executors/). `run --gpus` (local) is here too: its flag and its check.
import path from 'node:path';
import fs from 'node:fs';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { planFile } from '../results/layout.js';
import { freezePlan, planDifferences, readPlan, tablesSuiteFor, writePlan, type PlanFile } from '../run/plan-file.js';
import { planRuns, type LoadedForRun } from '../run/plan.js';
import { prepareResultsDir } from '../run/prepare.js';
import { parseGpuList } from '../run/executors/gpus.js';
import { EXIT, InputError } from './common.js';
import { intOption } from './flags.js';
import type { RunCommandDeps, RunCommandOptions } from './run.js';

export const EXECUTORS = ['local', 'slurm', 'k8s'] as const;
export type ExecutorName = (typeof EXECUTORS)[number];

export interface ExecutorOptions {
  planOnly?: boolean;
  executor?: ExecutorName;
  partition?: string;
  gres?: string;
  account?: string;
  sbatchArg?: string[];
  maxParallel?: number;
  dryRun?: boolean;
  image?: string;
  pvc?: string;
  gpusPerPod?: number;
  gpus?: string[];
}

function gpuList(v: string): string[] {
  try {
    return parseGpuList(v);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}

export function addExecutorOptions(cmd: Command): Command {
  return cmd
    .option('--gpus <list>', 'local: give each concurrent child its own GPU (CUDA_VISIBLE_DEVICES), e.g. 0,1,2,3; ' +
      'as many children at once as GPUs unless --concurrency says fewer', gpuList)
    .option('--plan-only', 'write the frozen plan <out>/plan.json (every run, its dependencies, config hash, timeout), print it, run nothing')
    .addOption(new Option('--executor <name>', 'where the runs run: this machine, Slurm job arrays, or Kubernetes Indexed Jobs')
      .choices([...EXECUTORS]).default('local'))
    .option('--partition <name>', 'slurm: partition')
    .option('--gres <spec>', 'slurm: generic resources per run, e.g. gpu:1')
    .option('--account <name>', 'slurm: account')
    .option('--sbatch-arg <arg>', 'slurm: an extra #SBATCH line, e.g. --qos=long (repeatable)', (v: string, acc: string[] = []) => [...acc, v])
    .option('--max-parallel <n>', 'slurm: array tasks at once (--array=…%N); k8s: pods at once', intOption('--max-parallel', 1))
    .option('--dry-run', 'slurm/k8s: write the scripts or manifests and print what would be submitted; submit nothing')
    .option('--image <image>', 'k8s: container image with this package and tfjs-node-gpu (see the Dockerfile)')
    .option('--pvc <name>', 'k8s: PersistentVolumeClaim holding the results directory')
    .option('--gpus-per-pod <n>', 'k8s: nvidia.com/gpu limit of each pod', intOption('--gpus-per-pod', 0), 1);
}

/** Whether `run` hands the suite to submitCommand instead of running it here. */
export function isSubmission(o: ExecutorOptions): boolean {
  return Boolean(o.planOnly) || (o.executor !== undefined && o.executor !== 'local');
}

/** Concurrency for a local run with --gpus: one child per GPU unless --concurrency asks for fewer. */
export function localConcurrency(o: Pick<RunCommandOptions, 'concurrency' | 'gpus'>, concurrencyGiven: boolean): number {
  if (!o.gpus) return o.concurrency;
  if (concurrencyGiven && o.concurrency > o.gpus.length) {
    throw new InputError(`--concurrency ${o.concurrency} is more than the ${o.gpus.length} GPUs of --gpus: each child needs one to itself`);
  }
  return concurrencyGiven ? o.concurrency : o.gpus.length;
}

/**
 * Freeze the plan (refusing a results directory with a different frozen plan unless --fresh), then print it
 * (--plan-only) or submit its unfinished runs.
 */
export async function submitCommand(suiteArg: string, loaded: LoadedForRun, o: RunCommandOptions, deps: RunCommandDeps): Promise<number> {
  const say = (line: string): void => void deps.stdout.write(line + '\n');
  if (o.gpus) throw new InputError('--gpus is for the local executor; on Slurm use --gres gpu:1, on Kubernetes --gpus-per-pod');
  const executor = o.executor ?? 'local';
  if (executor === 'k8s' && !o.planOnly && (!o.image || !o.pvc)) {
    throw new InputError('--executor k8s needs --image (an image with this package, see the Dockerfile) and --pvc (the claim holding the results)');
  }
  const resultsDir = path.resolve(o.out);
  const specs = planRuns(loaded.runnable, { seeds: o.seeds, methods: o.methods, backend: o.backend, timeoutSeconds: o.timeout, microBatch: o.microBatch });
  const plan = freezePlan(specs, {
    suite: loaded.runnable.name,
    ...(loaded.suite ? { tablesSuite: tablesSuiteFor(suiteArg, resultsDir) } : {}),
    backend: o.backend,
  });
  const existing: PlanFile | undefined = fs.existsSync(planFile(resultsDir)) ? readPlan(planFile(resultsDir)) : undefined;
  const diff = existing ? planDifferences(existing, plan) : [];
  if (existing && diff.length && !o.fresh) {
    throw new InputError(
      `${planFile(resultsDir)} holds a different plan (${diff.slice(0, 3).join('; ')}${diff.length > 3 ? '; …' : ''}): ` +
        'submit with the same suite and flags to continue it, or pass --fresh to archive its runs and start over',
    );
  }
  // The same frozen plan continues (resubmission); anything else follows the results-directory rules.
  const prepared = prepareResultsDir(resultsDir, plan.suite, { resume: o.resume || (existing !== undefined && diff.length === 0), fresh: o.fresh });
  prepared.release(); // tasks on other machines write the records; this process only submits
  if (prepared.archivedTo) say(`--fresh: moved the earlier runs of ${plan.suite} to ${prepared.archivedTo}`);
  const file = await writePlan(resultsDir, plan);
  if (o.planOnly) {
    deps.stdout.write(JSON.stringify(plan, null, 2) + '\n');
    say(`plan: ${file} (${plan.runs.length} runs; \`task --plan ${file} --index I\` runs run I)`);
    return EXIT.ok;
  }
  // the executors load only when used: every command start (each run's child too) pays for what cli.ts imports
  if (executor === 'slurm') {
    const { submitSlurm } = await import('../run/executors/slurm.js');
    await submitSlurm(plan, resultsDir, { partition: o.partition, gres: o.gres, account: o.account, sbatchArgs: o.sbatchArg, maxParallel: o.maxParallel, dryRun: o.dryRun }, say);
  } else {
    const { submitK8s } = await import('../run/executors/k8s.js');
    await submitK8s(plan, resultsDir, { image: o.image!, pvc: o.pvc!, gpusPerPod: o.gpusPerPod, maxParallel: o.maxParallel, dryRun: o.dryRun }, say);
  }
  say(`status: entrannas-bench status --results ${resultsDir}`);
  return EXIT.ok;
}
