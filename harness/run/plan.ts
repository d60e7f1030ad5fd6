// The plan: which phases a suite runs, one PhaseSpec per (row, seed, phase), search before eval.
// A suite from harness/suites/suite.ts becomes a RunnableSuite here (`toRunnableSuite`), and so does a
// runnable-suite JSON file (fixture suites for the tests).
import fs from 'node:fs';
import type { BackendChoice } from '../../nas/backend.js';
import { deviationsFor, loadSuite, resolveConfigs, type Suite } from '../suites/suite.js';
import type { Phase } from '../results/record.js';
import { PHASES } from '../results/layout.js';
import { configHash } from '../results/provenance.js';
import type { EvalPhaseSpec, FixturePhaseSpec, PhaseSpec, PhaseWork, SearchPhaseSpec } from './phase-types.js';

export const RUNNABLE_SUITE_FORMAT = 'entrannas-bench/runnable-suite@1';

/**
 * What the runner needs from a suite. harness/suites/suite.ts (loadSuite) produces richer suites (targets,
 * protocols); `toRunnableSuite` maps one to the other. A JSON file with
 * `"format": "entrannas-bench/runnable-suite@1"` in this shape can also be run directly (fixture suites, tests).
 */
export interface RunnableSuite {
  format?: typeof RUNNABLE_SUITE_FORMAT;
  name: string;
  /** The suite's protocol version (default 1), recorded with every run. */
  version?: number;
  seeds: number[];
  /** Default timeout of each phase in seconds; 0 = none. */
  timeoutSeconds: number;
  /** Deviations from the paper protocol shared by every row. */
  deviations: string[];
  /** The suite's rows (the key keeps its runnable-suite@1 name). */
  methods: RunnableMethod[];
}

export interface RunnableMethod {
  /** The row id: directory name and record.row, e.g. "entrannas" or "darts-1st". */
  id: string;
  deviations?: string[];
  /**
   * Work of the search phase for a seed: a function, or plain data whose `config.seed` (when present) the
   * planner sets to each seed. Absent: no search.
   */
  search?: PerSeed<SearchPhaseSpec | FixturePhaseSpec>;
  /**
   * Work of the eval phase. When the row also has a search, the eval trains the genotype that search wrote
   * (the runner fills `genotype`); otherwise `genotype` must name a genotype file or published cell.
   */
  eval?: PerSeed<EvalPhaseSpec | FixturePhaseSpec>;
  timeoutSeconds?: Partial<Record<Phase, number>>;
}

export type PerSeed<W> = W | ((seed: number) => W);

export interface PlanOptions {
  seeds?: number[];
  /** Row ids to run (`run --methods`); default every row. */
  methods?: string[];
  backend: BackendChoice;
  /** tensorflow-gpu fell back to the CPU: run on, booking CPU time (else the phase fails naming the libraries). */
  allowCpuFallback?: boolean;
  /** Overrides every phase's timeout (seconds; 0 = none). */
  timeoutSeconds?: number;
  /** Split search batches into micro-batches of this size (memory), recorded as a deviation; 0/undefined: as the suite. */
  microBatch?: number;
}

/** A search phase with micro-batches forced by `run --micro-batch` (unchanged when n ≥ the batch size). */
function withMicroBatch(work: PhaseWork, n: number | undefined): { work: PhaseWork; deviation?: string } {
  if (!n || work.kind !== 'search' || n >= work.config.batchSize) return { work };
  return {
    work: { ...work, config: { ...work.config, microBatch: n } },
    deviation: `search in micro-batches of ${n} of ${work.config.batchSize} with gradient accumulation (run --micro-batch: ` +
      `batch-norm statistics over ${n} samples)`,
  };
}

export function isRunnableSuite(x: unknown): x is RunnableSuite {
  return typeof x === 'object' && x !== null && (x as { format?: unknown }).format === RUNNABLE_SUITE_FORMAT;
}

function withSeed<W extends { config: object }>(work: W, seed: number): W {
  const config = structuredClone(work.config) as Record<string, unknown>;
  if ('seed' in config) config.seed = seed;
  return { ...structuredClone(work), config } as W;
}

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** One PhaseSpec per (row, seed, phase), search before eval. Throws on unknown rows or bad names. */
export function planRuns(suite: RunnableSuite, opts: PlanOptions): PhaseSpec[] {
  if (!NAME_RE.test(suite.name)) throw new Error(`suite name "${suite.name}" is not usable as a directory name`);
  const known = suite.methods.map((m) => m.id);
  for (const id of known) if (!NAME_RE.test(id)) throw new Error(`method id "${id}" is not usable as a directory name`);
  const wanted = opts.methods ?? known;
  const unknown = wanted.filter((m) => !known.includes(m));
  if (unknown.length) {
    throw new Error(`--methods: unknown method ${unknown.map((m) => `"${m}"`).join(', ')} in suite ${suite.name} (it has: ${known.join(', ')})`);
  }
  const seeds = opts.seeds ?? suite.seeds;
  const specs: PhaseSpec[] = [];
  for (const row of suite.methods.filter((m) => wanted.includes(m.id))) {
    for (const seed of seeds) {
      for (const phase of PHASES) {
        const w = row[phase];
        if (!w) continue;
        const planned = typeof w === 'function' ? w(seed) : withSeed(w, seed);
        const { work, deviation } = withMicroBatch(planned, opts.microBatch);
        specs.push({
          suite: suite.name,
          row: row.id,
          seed,
          phase,
          work,
          deviations: [...suite.deviations, ...(row.deviations ?? []), ...(deviation ? [deviation] : [])],
          backend: opts.backend,
          ...(opts.allowCpuFallback ? { allowCpuFallback: true } : {}),
          timeoutSeconds: opts.timeoutSeconds ?? row.timeoutSeconds?.[phase] ?? suite.timeoutSeconds,
          provenance: { configHash: configHash(planned.config), suiteVersion: suite.version ?? 1 },
        });
      }
    }
  }
  return specs;
}

/** A suite from harness/suites/suite.ts as the runner sees it: rows with run: true, configs resolved per seed. */
export function toRunnableSuite(suite: Suite): RunnableSuite {
  const rows = suite.methods.filter((m) => m.run);
  return {
    name: suite.name,
    version: suite.version,
    seeds: suite.seeds,
    timeoutSeconds: 0,
    deviations: [], // deviationsFor() below gives each row suite-wide + its own, in the suite's order
    methods: rows.map((row) => ({
      id: row.id,
      deviations: deviationsFor(suite, row.id),
      search: (seed: number) => ({ kind: 'search' as const, config: resolveConfigs(suite, row, seed).search }),
      // genotype is filled by the runner with <search outDir>/genotype.json
      eval: (seed: number) => ({ kind: 'eval' as const, config: resolveConfigs(suite, row, seed).eval, genotype: '' }),
      timeoutSeconds: { search: suite.timeouts.searchSeconds, eval: suite.timeouts.evalSeconds },
    })),
  };
}

export interface LoadedForRun {
  runnable: RunnableSuite;
  /** The harness/suites/suite.ts suite, when it came from there (tables need it); absent for runnable-suite files. */
  suite?: Suite;
}

/** Resolve `run <suite>`: a runnable-suite JSON file (fixtures, tests) or a suite by name/path via harness/suites/suite.ts. */
export async function loadSuiteForRun(nameOrPath: string): Promise<LoadedForRun> {
  if (nameOrPath.endsWith('.json') && fs.existsSync(nameOrPath)) {
    const data = JSON.parse(fs.readFileSync(nameOrPath, 'utf8')) as unknown;
    if (isRunnableSuite(data)) return { runnable: data };
  }
  const suite = loadSuite(nameOrPath);
  return { runnable: toRunnableSuite(suite), suite };
}
