// The results directory: the one owner of every path in it. Nothing else joins these paths.
//
//   <results>/runs/<suite>/<row>/seed-<seed>/<phase>.json   the run record (written atomically, once complete)
//   <results>/runs/<suite>/<row>/seed-<seed>/<phase>/       artifacts: genotype.json, checkpoints, spec.json,
//                                                           child.log, attempts/ (cost of each attempt),
//                                                           previous-records/ (failed records replaced by a rerun)
//   <results>/runs/<suite>/.lock                            the runner that holds the suite (host, pid, heartbeat)
//   <results>/runs/<suite>/<row>/seed-<seed>/<phase>/.lock  the child process running that phase
//   <results>/archive/<suite>-<time>/                       what `run --fresh` moved aside (nothing is deleted)
//   <results>/tables/<all|suite>.{md,csv,json}              the tables
//   <results>/plan.json                                     the frozen plan (`run --plan-only`, cluster executors)
//   <results>/slurm/, <results>/k8s/                        sbatch scripts and logs, Job manifests
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Phase, RunKey } from './record.js';

/** Every phase, in the order a row runs them. */
export const PHASES: readonly Phase[] = ['search', 'select', 'eval'];

/** The genotype a search phase leaves in its artifacts directory (the select or eval that depends on it trains it). */
export const GENOTYPE_FILE = 'genotype.json';

export function runsDir(resultsDir: string): string {
  return path.join(resultsDir, 'runs');
}

export function suiteRunsDir(resultsDir: string, suite: string): string {
  return path.join(runsDir(resultsDir), suite);
}

export function lockFile(resultsDir: string, suite: string): string {
  return path.join(suiteRunsDir(resultsDir, suite), '.lock');
}

/** The frozen plan of the suite this results directory runs (harness/run/plan-file.ts). */
export function planFile(resultsDir: string): string {
  return path.join(resultsDir, 'plan.json');
}

/** Where a cluster executor writes its scripts, manifests and logs ("slurm", "k8s"). */
export function executorDir(resultsDir: string, executor: 'slurm' | 'k8s'): string {
  return path.join(resultsDir, executor);
}

export function archiveRoot(resultsDir: string): string {
  return path.join(resultsDir, 'archive');
}

/** Where `--fresh` moves a suite's runs at time `at`. */
export function archiveDir(resultsDir: string, suite: string, at: Date): string {
  return path.join(archiveRoot(resultsDir), `${suite}-${at.toISOString().replace(/[:.]/g, '-')}`);
}

/** The table files of one suite (<suite>.*) or of every suite (all.*). */
export function tableFiles(resultsDir: string, suite: string | undefined): { md: string; csv: string; json: string } {
  const base = path.join(resultsDir, 'tables', suite ?? 'all');
  return { md: `${base}.md`, csv: `${base}.csv`, json: `${base}.json` };
}

/** The tidy data next to the tables: one row per run, as CSV and JSON Lines. */
export function tidyFiles(resultsDir: string, suite: string | undefined): { csv: string; jsonl: string } {
  const base = path.join(resultsDir, 'tables', suite ?? 'all');
  return { csv: `${base}.runs.csv`, jsonl: `${base}.runs.jsonl` };
}

/** The self-contained HTML report of every suite. */
export function htmlReportFile(resultsDir: string): string {
  return path.join(resultsDir, 'tables', 'report.html');
}

/** The files inside a phase's artifacts directory that the runner and the child use. */
export function artifactPaths(outDir: string) {
  return {
    spec: path.join(outDir, 'spec.json'),
    log: path.join(outDir, 'child.log'),
    attempts: path.join(outDir, 'attempts'),
    previousRecords: path.join(outDir, 'previous-records'),
    genotype: path.join(outDir, GENOTYPE_FILE),
    /** The run lock its child holds while it runs (harness/run/lock.ts: host, pid, heartbeat). */
    lock: path.join(outDir, '.lock'),
  };
}

export function recordPath(resultsDir: string, k: RunKey): string {
  return path.join(suiteRunsDir(resultsDir, k.suite), k.row, `seed-${k.seed}`, `${k.phase}.json`);
}

export type RunPaths = ReturnType<typeof runPaths>;

export function runPaths(resultsDir: string, k: RunKey) {
  const outDir = path.join(suiteRunsDir(resultsDir, k.suite), k.row, `seed-${k.seed}`, k.phase);
  return { record: recordPath(resultsDir, k), outDir, ...artifactPaths(outDir) };
}

/** "<suite>/<row>/seed-<seed>/<phase>": a run's name in logs and summaries (its path under runs/). */
export function runLabel(k: RunKey): string {
  return `${k.suite}/${k.row}/seed-${k.seed}/${k.phase}`;
}

function subdirs(p: string): string[] {
  let names: string[];
  try {
    names = readdirSync(p);
  } catch {
    return [];
  }
  return names.filter((d) => {
    try {
      return statSync(path.join(p, d)).isDirectory();
    } catch {
      return false;
    }
  }).sort();
}

/** Every record file present under <results>/runs (optionally of one suite), in path order, with its key. */
export function recordFiles(resultsDir: string, suite?: string): Array<RunKey & { file: string }> {
  const out: Array<RunKey & { file: string }> = [];
  const suites = subdirs(runsDir(resultsDir)).filter((s) => suite === undefined || s === suite);
  for (const s of suites) {
    for (const row of subdirs(suiteRunsDir(resultsDir, s))) {
      for (const seedDir of subdirs(path.join(suiteRunsDir(resultsDir, s), row))) {
        const m = /^seed-(\d+)$/.exec(seedDir);
        if (!m) continue;
        for (const phase of PHASES) {
          const key: RunKey = { suite: s, row, seed: Number(m[1]), phase };
          const file = recordPath(resultsDir, key);
          if (existsSync(file)) out.push({ ...key, file });
        }
      }
    }
  }
  return out;
}

