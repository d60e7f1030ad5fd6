// What a submission hands to a scheduler: the plan's runs without a finished record, grouped so that a job array
// can run them. Resubmitting after some runs finished (or after a record was deleted) submits only the rest.
import { isFinished } from '../../results/record.js';
import { readRecord } from '../../results/store.js';
import { recordPath } from '../../results/layout.js';
import type { PlanFile, PlannedRun } from '../plan-file.js';

export interface PendingWork {
  /** Unfinished searches; the first `paired.length` are the searches of `paired`, position for position. */
  searches: PlannedRun[];
  /** Unfinished evals whose search is in `searches` (same position): they wait for it. */
  paired: PlannedRun[];
  /** Unfinished runs whose dependencies are all finished (or that have none), other than searches. */
  ready: PlannedRun[];
  /** Plan runs with a finished record. */
  finished: PlannedRun[];
}

export function pendingWork(plan: PlanFile, resultsDir: string): PendingWork {
  const done = new Set(plan.runs.filter((r) => isFinished(readRecord(recordPath(resultsDir, r)))).map((r) => r.index));
  const finished = plan.runs.filter((r) => done.has(r.index));
  const open = plan.runs.filter((r) => !done.has(r.index));
  const openSearches = open.filter((r) => r.phase === 'search');
  const paired: PlannedRun[] = [];
  const ready: PlannedRun[] = [];
  for (const r of open.filter((x) => x.phase !== 'search')) {
    if (r.dependsOn.every((d) => done.has(d))) ready.push(r);
    else paired.push(r);
  }
  const pairedSearches = paired.map((e) => openSearches.find((s) => e.dependsOn.includes(s.index))!);
  const searches = [...pairedSearches, ...openSearches.filter((s) => !pairedSearches.includes(s))];
  return { searches, paired, ready, finished };
}
