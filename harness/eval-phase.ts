// Lead-owned: trains and tests one genotype in this process (called by the runner's child and by `eval`).
import type { EvalPhaseSpec, PhaseContext, PhaseOutcome } from './phase-types.js';

export async function runEvalPhase(_work: EvalPhaseSpec, _ctx: PhaseContext): Promise<PhaseOutcome> {
  throw new Error('eval phase not implemented yet');
}
