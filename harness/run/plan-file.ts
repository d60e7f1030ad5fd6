// The frozen plan: <results>/plan.json, every run of a suite as the local runner would run it (plan.ts order),
// with its dependencies, config hash and timeout. `run --plan-only` writes it; `task --plan … --index I` runs run I
// of it; the cluster executors (executors/) only decide which indices to hand to which machine.
//
// The file holds no timestamps and no absolute paths, so the same suite and flags give the same bytes (a
// resubmission can check that nothing changed) and the results directory can move (a PVC mounted elsewhere, a
// directory copied between machines): a task finds the results next to the plan.
import fs from 'node:fs';
import path from 'node:path';
import { readJsonIfExists, writeJsonAtomic } from '../../nas/util/fs.js';
import type { BackendChoice } from '../../nas/backend.js';
import type { RunKey } from '../results/record.js';
import { planFile, runLabel } from '../results/layout.js';
import { configHash } from '../results/provenance.js';
import type { PhaseSpec } from './phase-types.js';

export const PLAN_FORMAT = 'entrannas-bench/plan@1';

export interface PlannedRun extends RunKey {
  /** Position in the plan: what `task --index` takes. The local runner runs the same runs in the same order. */
  index: number;
  /** Indices of the runs this one needs first (an eval needs the search of its row and seed). */
  dependsOn: number[];
  /** configHash(spec.work.config): the resolved phase config. */
  configHash: string;
  /** Seconds before the runner kills the phase; 0 = none. */
  timeoutSeconds: number;
  /** What the runner hands the child (the eval's genotype is filled from its search when it runs). */
  spec: PhaseSpec;
}

export interface PlanFile {
  format: typeof PLAN_FORMAT;
  suite: string;
  /**
   * How `report --suite` finds the suite for the tables: a built-in name, or the suite file's path relative to the
   * results directory. Absent for runnable-suite files (fixtures), which have no tables.
   */
  tablesSuite?: string;
  backend: BackendChoice;
  runs: PlannedRun[];
}

/** The plan as data: dependencies are the search of the same (suite, row, seed) for each eval. */
export function freezePlan(specs: PhaseSpec[], meta: { suite: string; tablesSuite?: string; backend: BackendChoice }): PlanFile {
  const searchOf = new Map<string, number>();
  const runs = specs.map((spec, index): PlannedRun => {
    const chain = JSON.stringify([spec.suite, spec.row, spec.seed]);
    if (spec.phase === 'search') searchOf.set(chain, index);
    const dep = spec.phase === 'eval' ? searchOf.get(chain) : undefined;
    return {
      index,
      suite: spec.suite,
      row: spec.row,
      seed: spec.seed,
      phase: spec.phase,
      dependsOn: dep === undefined ? [] : [dep],
      configHash: configHash(spec.work.config),
      timeoutSeconds: spec.timeoutSeconds,
      spec,
    };
  });
  return {
    format: PLAN_FORMAT,
    suite: meta.suite,
    ...(meta.tablesSuite !== undefined ? { tablesSuite: meta.tablesSuite } : {}),
    backend: meta.backend,
    runs,
  };
}

/** Where `report --suite` should look for a suite given on the command line (a file: relative to the results). */
export function tablesSuiteFor(suiteArg: string, resultsDir: string): string {
  return suiteArg.endsWith('.json') && fs.existsSync(suiteArg) ? path.relative(resultsDir, path.resolve(suiteArg)) : suiteArg;
}

/** The suite argument for `report --suite`, resolved against the results directory the plan lies in. */
export function resolveTablesSuite(plan: PlanFile, resultsDir: string): string | undefined {
  const s = plan.tablesSuite;
  if (s === undefined) return undefined;
  return s.endsWith('.json') ? path.resolve(resultsDir, s) : s;
}

export async function writePlan(resultsDir: string, plan: PlanFile): Promise<string> {
  const file = planFile(resultsDir);
  await writeJsonAtomic(file, plan);
  return file;
}

/** The plan at `file`; throws naming the file when it is missing or not a plan. */
export function readPlan(file: string): PlanFile {
  let plan: PlanFile | undefined;
  try {
    plan = readJsonIfExists<PlanFile>(file);
  } catch (err) {
    throw new Error(`${file}: not readable as JSON (${err instanceof Error ? err.message : String(err)})`);
  }
  if (!plan) throw new Error(`${file}: no plan there; write one with \`run <suite> --plan-only --out ${path.dirname(file)}\``);
  if (plan.format !== PLAN_FORMAT || !Array.isArray(plan.runs)) {
    throw new Error(`${file}: not a plan (format ${JSON.stringify(plan.format)}; expected "${PLAN_FORMAT}")`);
  }
  plan.runs.forEach((r, i) => {
    if (r.index !== i) throw new Error(`${file}: run ${i} says index ${r.index}; the plan was edited by hand`);
  });
  return plan;
}

/** Differences between two plans, one line per run that changed (empty: the same plan). */
export function planDifferences(a: PlanFile, b: PlanFile): string[] {
  const out: string[] = [];
  if (a.suite !== b.suite) out.push(`suite ${a.suite} → ${b.suite}`);
  if (a.backend !== b.backend) out.push(`backend ${a.backend} → ${b.backend}`);
  const n = Math.max(a.runs.length, b.runs.length);
  for (let i = 0; i < n; i++) {
    const x = a.runs[i];
    const y = b.runs[i];
    if (!x || !y) {
      out.push(`run ${i}: ${x ? runLabel(x) : 'none'} → ${y ? runLabel(y) : 'none'}`);
      continue;
    }
    if (runLabel(x) !== runLabel(y)) out.push(`run ${i}: ${runLabel(x)} → ${runLabel(y)}`);
    else if (configHash(x.spec) !== configHash(y.spec)) {
      out.push(`run ${i} (${runLabel(x)}): ${x.configHash === y.configHash ? 'deviations, timeout or backend' : 'config'} changed`);
    }
  }
  return out;
}
