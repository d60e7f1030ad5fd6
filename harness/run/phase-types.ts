// What the runner hands a child process (PhaseSpec) and what the phase hands back (PhaseOutcome).
import type { BackendChoice } from '../../nas/backend.js';
import type { EvalConfig, SearchConfig } from '../../nas/config.js';
import type { LoopProgress } from '../../nas/train.js';
import type { PhaseClock, PhaseSeconds } from '../../nas/phase-clock.js';
import type { EvalResult, RunKey, SearchResult } from '../results/record.js';
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
  /** Called by the phase so the current tensor bytes enter the high-water mark. */
  sampleMemory(): void;
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
/** A test double for the runner: deterministic fake work with planted failures (harness/run/fixture-phase.ts). */
export interface FixturePhaseSpec {
  kind: 'fixture';
  config: { steps: number; msPerStep: number; failAtStep?: number; nanAtStep?: number; hang?: boolean; checkpointEvery?: number };
}

/**
 * The work of one phase. `fixture` is a test double, not a benchmark: it sits in the production union so that the
 * runner's tests drive real child processes (crashes, NaN, hangs, kills, resume) without training a network.
 */
export type PhaseWork =
  | SearchPhaseSpec
  | EvalPhaseSpec
  /** Test double only. */
  | FixturePhaseSpec;

/** One planned run: what the runner writes to spec.json and the child (`_phase`) reads. */
export interface PhaseSpec extends RunKey {
  work: PhaseWork;
  deviations: string[];
  backend: BackendChoice;
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
  eval?: EvalResult;
  msPerStep?: number;
  steps?: number;
  /** Seconds per part of the phase (nas/phase-clock.ts). */
  phases?: PhaseSeconds;
}
