// Runs one select phase in this process: train a searched cell for the protocol's short schedule on the training
// set minus a held-out validation split, and score it on that split (the test set is never loaded into the
// decision). The runner's best-select evals train the candidate that scores highest.
import fs from 'node:fs';
import path from 'node:path';
import type { PhaseContext, PhaseOutcome, SelectPhaseSpec } from './phase-types.js';
import type { SelectResult } from '../results/record.js';
import { loadDataset, validationSplit } from '../../nas/data/index.js';
import { loadGenotype } from '../../nas/genotype.js';
import { runEvaluation } from '../../nas/train.js';
import { writeJsonAtomicSync as writeJsonAtomic } from '../../nas/util/fs.js';
import { evalAugment } from './eval-phase.js';
import { loopHooks } from './loop-hooks.js';
import { PhaseClock } from '../../nas/phase-clock.js';

export async function runSelectPhase(work: SelectPhaseSpec, ctx: PhaseContext): Promise<PhaseOutcome> {
  const { validation: split, ...cfg } = work.config;
  const clock = ctx.clock ?? new PhaseClock();
  clock.begin('setup');
  const genotype = loadGenotype(work.genotype);
  const ds = await loadDataset(cfg.data);
  const { train, validation } = validationSplit(ds.train, split);
  clock.end();
  // runEvaluation tests on the split it is given as `test`: here that is the validation split.
  const out = await runEvaluation(genotype, cfg, {
    train, test: validation, augment: evalAugment(cfg), numClasses: ds.numClasses, imageShape: train.imageShape,
  }, { ...loopHooks(ctx), clock });
  const select: SelectResult = {
    valAcc: out.testAcc, valError: out.testError, trainImages: train.size, validationImages: validation.size, lossTrace: out.lossTrace,
  };
  clock.begin('write');
  fs.mkdirSync(ctx.outDir, { recursive: true });
  clock.end();
  const phases = clock.seconds();
  writeJsonAtomic(path.join(ctx.outDir, 'select.json'), { status: out.status, error: out.error, config: work.config, genotype: work.genotype, ...select, msPerStep: out.msPerStep, steps: out.stepsRun, phases });
  return { status: out.status, error: out.error, select, msPerStep: out.msPerStep, steps: out.stepsRun, phases };
}
