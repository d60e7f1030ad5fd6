// What the runner hands a child process (PhaseSpec) and what the phase hands back (PhaseOutcome).
import type { BackendChoice } from '../../nas/backend.js';
import type { EvalConfig, SearchConfig } from '../../nas/config.js';
import type { LoopProgress } from '../../nas/train.js';
import type { SelectConfig } from '../suites/suite.js';
import type { PhaseClock, PhaseSeconds } from '../../nas/phase-clock.js';
import type { EvalResult, RunKey, SearchResult, Selection, SelectResult } from '../results/record.js';
import type { Provenance } from '../results/provenance.js';

/** The training loops' progress report (epoch counted from 0, step = steps done in the epoch). */
export type Progress = LoopProgress;

export interface PhaseContext {
  /** Called at least once per epoch and every few steps. */
  progress(p: Progress): void;
  /** Directory for this run's artifacts (genotype.json, search.json, checkpoints). Exists. */
  outDir: string;
  /** Resume from the latest checkpoint in outDir when one exists. */
  resume: boolean;
  /** Called by the phase at every step boundary (memory high-water mark, runner and lock checks). */
  sampleMemory(): void;
  /** Aborted when the phase must stop (the runner went away, a signal): phases check it at every step. */
  signal?: AbortSignal;
  /** A peak measured inside a step (nas/tensor-peak.ts), higher than any between-step sample. */
  notePeakTensorBytes?(bytes: number): void;
  /** Books the phase's time per part (setup, epochs, scoring, checkpoints, writing); the child reads it back. */
  clock?: PhaseClock;
}

export interface SearchPhaseSpec {
  kind: 'search';
  config: SearchConfig;
}
export interface EvalPhaseSpec {
  kind: 'eval';
  config: EvalConfig;
  /** Genotype JSON file (from the search phase of the same suite/row/seed, or a published cell name). */
  genotype: string;
}
export type { SelectConfig };
export interface SelectPhaseSpec {
  kind: 'select';
  config: SelectConfig;
  /** Genotype JSON file of the search this run scores (the runner fills it from `genotypeFrom`). */
  genotype: string;
}
/** A test double for the runner: deterministic fake work with planted failures (harness/run/fixture-phase.ts). */
export interface FixturePhaseSpec {
  kind: 'fixture';
  config: {
    steps: number; msPerStep: number; failAtStep?: number; nanAtStep?: number; hang?: boolean; checkpointEvery?: number;
    /** Return this as a select phase's validation accuracy (a fixture standing in for a select); a list is indexed by seed. */
    valAcc?: number | number[];
    /** Set to each seed by the planner (when present). */
    seed?: number;
  };
  /** The genotype file the runner handed it (a fixture standing in for a select or an eval). */
  genotype?: string;
}

/**
 * The work of one phase. `fixture` is a test double, not a benchmark: it sits in the production union so that the
 * runner's tests drive real child processes (crashes, NaN, hangs, kills, resume) without training a network.
 */
export type PhaseWork =
  | SearchPhaseSpec
  | SelectPhaseSpec
  | EvalPhaseSpec
  /** Test double only. */
  | FixturePhaseSpec;

/**
 * Where a phase's genotype comes from. The runner resolves it to a file once the runs it names have finished:
 *   search       the genotype that search wrote;
 *   best-select  the genotype of the candidate whose select run scored the highest validation accuracy (ties: the
 *                lowest search seed), as a selection protocol prescribes.
 */
export type GenotypeSource =
  | { kind: 'search'; run: RunKey }
  | { kind: 'best-select'; candidates: Array<{ select: RunKey; search: RunKey }> };

/** One planned run: what the runner writes to spec.json and the child (`_phase`) reads. */
export interface PhaseSpec extends RunKey {
  work: PhaseWork;
  /** Runs that must have finished before this one starts: the plan's dependencies, as data any scheduler can read. */
  needs?: RunKey[];
  /** Where the genotype of a select or eval comes from (absent: the work names its genotype itself). */
  genotypeFrom?: GenotypeSource;
  /** Filled by the runner for a best-select eval: the cell it chose and every candidate's score. */
  selection?: Selection;
  deviations: string[];
  backend: BackendChoice;
  /** wasm backend threads (absent in specs written before threads existed: 1). */
  threads?: number;
  /** tensorflow-gpu that fell back to the CPU runs on and books CPU time (nas/gpu-check.ts). */
  allowCpuFallback?: boolean;
  timeoutSeconds: number;
  /** The configuration's hash as the suite resolved it, before command-line overrides, and the suite's version. */
  provenance?: Provenance;
}

export interface PhaseOutcome {
  status: 'ok' | 'diverged';
  error?: string;
  search?: SearchResult;
  select?: SelectResult;
  eval?: EvalResult;
  msPerStep?: number;
  steps?: number;
  /** Seconds per part of the phase (nas/phase-clock.ts). */
  phases?: PhaseSeconds;
}
