// The plan: which phases a suite runs, one PhaseSpec per (row, seed, phase), each listed after the runs it needs.
// A row runs search → eval per seed, or, with a selection protocol, k searches → a select per search → m evals of
// the cell the best select chose (every eval needs every select).
// A suite from harness/suites/suite.ts becomes a RunnableSuite here (`toRunnableSuite`), and so does a
// runnable-suite JSON file (fixture suites for the tests).
import fs from 'node:fs';
import type { BackendChoice } from '../../nas/backend.js';
import { SuiteError, loadSuite, protocolSeeds, type Suite } from '../suites/suite.js';
import { deviationsFor } from '../suites/deviations.js';
import { resolvePhaseConfig } from '../suites/resolve.js';
import { compileSchema, formatAjvErrors, parseJsonFile } from '../suites/json-schema.js';
import { ID_PATTERN, MAX_SEED, runnableSuiteSchema } from './runnable-schema.js';
import type { Phase, RunKey } from '../results/record.js';
import { configHash } from '../results/provenance.js';
import type { EvalPhaseSpec, FixturePhaseSpec, PhaseSpec, PhaseWork, SearchPhaseSpec, SelectPhaseSpec } from './phase-types.js';

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
  /** A selection protocol: the row then runs search seeds 0..searches−1 and eval seeds 0..evalSeeds−1. */
  protocol?: RunnableProtocol;
  timeoutSeconds?: Partial<Record<Phase, number>>;
}

export interface RunnableProtocol {
  /** k: searches, seeds 0..k−1, each scored by its own select run. */
  searches: number;
  /** Work of the select run of a search seed (the runner fills `genotype` with that search's). */
  select: PerSeed<SelectPhaseSpec | FixturePhaseSpec>;
  /** m: evaluations of the chosen cell, eval seeds 0..m−1 (`run --seeds` replaces this list). */
  evalSeeds: number;
}

export type PerSeed<W> = W | ((seed: number) => W);

export interface PlanOptions {
  seeds?: number[];
  /** Row ids to run (`run --methods`); default every row. */
  methods?: string[];
  backend: BackendChoice;
  /** wasm backend threads per phase (default 1). */
  threads?: number;
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

const validateRunnable = compileSchema(runnableSuiteSchema);

export function isRunnableSuite(x: unknown): x is RunnableSuite {
  return typeof x === 'object' && x !== null && (x as { format?: unknown }).format === RUNNABLE_SUITE_FORMAT;
}

function withSeed<W extends { config: object }>(work: W, seed: number): W {
  const config = structuredClone(work.config) as Record<string, unknown>;
  if ('seed' in config) config.seed = seed;
  return { ...structuredClone(work), config } as W;
}

const NAME_RE = new RegExp(ID_PATTERN);

/** Seeds are integers in [0, 2³²) without repeats; the message names where they came from. */
export function checkSeeds(seeds: readonly unknown[], where: string): number[] {
  for (const s of seeds) {
    if (typeof s !== 'number' || !Number.isInteger(s) || s < 0 || s > MAX_SEED) {
      throw new Error(`${where}: seed ${JSON.stringify(s)} is not an integer in 0…${MAX_SEED} (seeds drive a 32-bit generator)`);
    }
  }
  const dup = seeds.find((s, i) => seeds.indexOf(s) !== i);
  if (dup !== undefined) throw new Error(`${where}: seed ${String(dup)} is listed twice (it would count one run as two)`);
  return seeds as number[];
}

/**
 * One PhaseSpec per (row, seed, phase), each after the runs it needs. Throws on unknown rows or bad names. `seeds`
 * (run --seeds) replaces the suite's seeds, and a protocol row's eval seeds; its searches stay the declared k,
 * since the choice is among all of them.
 */
export function planRuns(suite: RunnableSuite, opts: PlanOptions): PhaseSpec[] {
  const idRule = 'lowercase letters, digits and "-", starting with a letter or digit';
  if (typeof suite.name !== 'string' || !NAME_RE.test(suite.name)) throw new Error(`suite name ${JSON.stringify(suite.name)} is not an id (${idRule})`);
  const known = suite.methods.map((m) => m.id);
  for (const id of known) if (typeof id !== 'string' || !NAME_RE.test(id)) throw new Error(`suite ${suite.name}: method id ${JSON.stringify(id)} is not an id (${idRule})`);
  const wanted = opts.methods ?? known;
  const unknown = wanted.filter((m) => !known.includes(m));
  if (unknown.length) {
    throw new Error(`--methods: unknown method ${unknown.map((m) => `"${m}"`).join(', ')} in suite ${suite.name} (it has: ${known.join(', ')})`);
  }
  const seeds = checkSeeds(opts.seeds ?? suite.seeds, opts.seeds ? '--seeds' : `suite ${suite.name}`);
  const specs: PhaseSpec[] = [];
  for (const row of suite.methods.filter((m) => wanted.includes(m.id))) {
    const key = (seed: number, phase: Phase): RunKey => ({ suite: suite.name, row: row.id, seed, phase });
    const add = (seed: number, phase: Phase, w: PerSeed<PhaseWork>, deps: Pick<PhaseSpec, 'needs' | 'genotypeFrom'> = {}): void => {
      const planned = typeof w === 'function' ? w(seed) : withSeed(w, seed);
      const { work, deviation } = withMicroBatch(planned, opts.microBatch);
      specs.push({
        ...key(seed, phase),
        work,
        ...deps,
        deviations: [...suite.deviations, ...(row.deviations ?? []), ...(deviation ? [deviation] : [])],
        backend: opts.backend,
        threads: opts.threads ?? 1,
        ...(opts.allowCpuFallback ? { allowCpuFallback: true } : {}),
        timeoutSeconds: opts.timeoutSeconds ?? row.timeoutSeconds?.[phase] ?? suite.timeoutSeconds,
        provenance: { configHash: configHash(planned.config), suiteVersion: suite.version ?? 1 },
      });
    };
    const p = row.protocol;
    if (p === undefined) {
      for (const seed of seeds) {
        if (row.search) add(seed, 'search', row.search);
        if (row.eval) {
          add(seed, 'eval', row.eval, row.search ? { needs: [key(seed, 'search')], genotypeFrom: { kind: 'search', run: key(seed, 'search') } } : {});
        }
      }
      continue;
    }
    if (!row.search || !row.eval) throw new Error(`row "${row.id}" declares a selection protocol but has no ${row.search ? 'eval' : 'search'} phase`);
    if (!(Number.isInteger(p.searches) && p.searches >= 1 && Number.isInteger(p.evalSeeds) && p.evalSeeds >= 1)) {
      throw new Error(`row "${row.id}": protocol searches (${p.searches}) and evalSeeds (${p.evalSeeds}) must be positive integers`);
    }
    const { searches: searchSeeds, evals: evalSeeds } = protocolSeeds(p);
    for (const seed of searchSeeds) add(seed, 'search', row.search);
    for (const seed of searchSeeds) {
      add(seed, 'select', p.select, { needs: [key(seed, 'search')], genotypeFrom: { kind: 'search', run: key(seed, 'search') } });
    }
    const candidates = searchSeeds.map((seed) => ({ select: key(seed, 'select'), search: key(seed, 'search') }));
    for (const seed of opts.seeds ? seeds : evalSeeds) {
      add(seed, 'eval', row.eval, { needs: candidates.map((c) => c.select), genotypeFrom: { kind: 'best-select', candidates } });
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
      search: (seed: number) => ({ kind: 'search' as const, config: resolvePhaseConfig(suite, row, seed, 'search') }),
      // genotype is filled by the runner from genotypeFrom (the search's <outDir>/genotype.json, or the selected one)
      eval: (seed: number) => ({ kind: 'eval' as const, config: resolvePhaseConfig(suite, row, seed, 'eval'), genotype: '' }),
      ...(row.protocol ? {
        protocol: {
          searches: row.protocol.searches,
          evalSeeds: row.protocol.evalSeeds,
          select: (seed: number) => ({ kind: 'select' as const, config: resolvePhaseConfig(suite, row, seed, 'select'), genotype: '' }),
        },
      } : {}),
      timeoutSeconds: { search: suite.timeouts.searchSeconds, select: suite.timeouts.evalSeconds, eval: suite.timeouts.evalSeconds },
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
    const data = parseJsonFile(fs.readFileSync(nameOrPath, 'utf8'), nameOrPath);
    if (isRunnableSuite(data)) {
      if (!validateRunnable(data)) throw new SuiteError(nameOrPath, formatAjvErrors(validateRunnable.errors));
      return { runnable: data };
    }
  }
  const suite = loadSuite(nameOrPath);
  return { runnable: toRunnableSuite(suite), suite };
}
