// One run of a frozen plan, on whatever machine a scheduler picked: the local runner (runner.ts) with the plan's
// dependencies as read-only context, so the record, checkpoint, resume and "search failed" rules are the local
// runner's. Always with resume: a requeued or resubmitted task continues from its checkpoint; the
// refuse/--resume/--fresh rules of the results directory were applied once, when the plan was frozen.
import path from 'node:path';
import { runLabel } from '../../results/layout.js';
import type { RunRecord } from '../../results/record.js';
import { readPlan, type PlanFile, type PlannedRun } from '../plan-file.js';
import type { ProgressReporter } from '../progress.js';
import { runPlan, type RunResult } from '../runner.js';

export interface TaskOptions {
  reporter?: ProgressReporter;
  handleSignals?: boolean;
  killGraceMs?: number;
}

export interface TaskOutcome {
  run: PlannedRun;
  result: RunResult;
  record?: RunRecord;
  interrupted: boolean;
}

/** The plan index a scheduler's array position stands for: `--indices 4,6 --position 1` is run 6. */
export function indexAt(indices: readonly number[], position: number): number {
  if (!Number.isInteger(position) || position < 0 || position >= indices.length) {
    throw new Error(`position ${position} is outside the ${indices.length} listed indices (${indices.join(',')})`);
  }
  return indices[position];
}

export function plannedRun(plan: PlanFile, index: number, file: string): PlannedRun {
  const run = plan.runs[index];
  if (!Number.isInteger(index) || !run) {
    throw new Error(`${file} has runs 0..${plan.runs.length - 1}; there is no run ${index}`);
  }
  return run;
}

/** Run plan run `index` (skipped when its record is finished); its results go next to the plan. */
export async function runPlannedTask(planPath: string, index: number, opts: TaskOptions = {}): Promise<TaskOutcome> {
  const file = path.resolve(planPath);
  const plan = readPlan(file);
  const run = plannedRun(plan, index, file);
  const deps = run.dependsOn.map((i) => plannedRun(plan, i, file).spec);
  const summary = await runPlan([...deps, run.spec], {
    resultsDir: path.dirname(file),
    resume: true,
    only: new Set([runLabel(run)]),
    reporter: opts.reporter,
    handleSignals: opts.handleSignals,
    killGraceMs: opts.killGraceMs,
  });
  const result = summary.results.find((r) => runLabel(r.spec) === runLabel(run))!;
  return { run, result, record: result.record, interrupted: summary.interrupted };
}
