// Run one phase in this process: dispatch on the work kind. The runner's child (`_phase`) calls this.
import { runEvalPhase } from './eval-phase.js';
import { runFixturePhase } from './fixture-phase.js';
import type { PhaseContext, PhaseOutcome, PhaseWork } from './phase-types.js';
import { runSearchPhase } from './search-phase.js';
import { runSelectPhase } from './select-phase.js';

export async function executePhase(work: PhaseWork, ctx: PhaseContext): Promise<PhaseOutcome> {
  let outcome: PhaseOutcome;
  switch (work.kind) {
    case 'search':
      outcome = await runSearchPhase(work, ctx);
      break;
    case 'select':
      outcome = await runSelectPhase(work, ctx);
      break;
    case 'eval':
      outcome = await runEvalPhase(work, ctx);
      break;
    case 'fixture':
      outcome = await runFixturePhase(work, ctx);
      break;
    default: {
      const never: never = work;
      throw new Error(`unknown phase kind ${JSON.stringify((never as { kind?: unknown }).kind)}`);
    }
  }
  return guardDivergence(outcome);
}

/**
 * A phase that says ok but whose final loss is not finite has diverged, whatever it says: the record must not
 * call a NaN run a success.
 */
export function guardDivergence(outcome: PhaseOutcome): PhaseOutcome {
  if (outcome.status !== 'ok') return outcome;
  const trace = outcome.search?.lossTrace ?? outcome.select?.lossTrace ?? outcome.eval?.lossTrace;
  const last = trace && trace.length ? trace[trace.length - 1] : undefined;
  if (last !== undefined && !Number.isFinite(last)) {
    return { ...outcome, status: 'diverged', error: `final loss is ${last} (the phase reported ok)` };
  }
  return outcome;
}
