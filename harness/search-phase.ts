// Lead-owned: runs one search phase in this process (called by the runner's child and by `search`).
import type { PhaseContext, PhaseOutcome, SearchPhaseSpec } from './phase-types.js';

export async function runSearchPhase(_work: SearchPhaseSpec, _ctx: PhaseContext): Promise<PhaseOutcome> {
  throw new Error('search phase not implemented yet');
}
