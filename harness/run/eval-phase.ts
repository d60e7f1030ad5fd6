// Trains and tests one genotype from scratch in this process (the runner's child and the `eval` command).
import fs from 'node:fs';
import path from 'node:path';
import type { EvalPhaseSpec, PhaseContext, PhaseOutcome } from './phase-types.js';
import { loadDataset, CIFAR_AUGMENT, IMAGENET_AUGMENT, type AugmentConfig } from '../../nas/data/index.js';
import { loadGenotype } from '../../nas/genotype.js';
import { runEvaluation } from '../../nas/train.js';
import type { EvalConfig } from '../../nas/config.js';
import { writeJsonAtomicSync as writeJsonAtomic } from '../../nas/util/fs.js';
import { loopHooks } from './loop-hooks.js';
import { PhaseClock } from '../../nas/phase-clock.js';

/** The configured training augmentation on top of the dataset family's base transform. */
export function evalAugment(cfg: EvalConfig): AugmentConfig | false {
  const a = cfg.augment;
  if (!a.crop && !a.flip && !a.cutout && !a.colorJitter) return false;
  const base = cfg.data.dataset === 'imagenet' ? IMAGENET_AUGMENT : CIFAR_AUGMENT;
  return { ...base, crop: a.crop, flip: a.flip, cutout: a.cutout, colorJitter: a.colorJitter };
}

export async function runEvalPhase(work: EvalPhaseSpec, ctx: PhaseContext): Promise<PhaseOutcome> {
  const cfg = work.config;
  const clock = ctx.clock ?? new PhaseClock();
  clock.begin('setup');
  const genotype = loadGenotype(work.genotype);
  const ds = await loadDataset(cfg.data);
  clock.end();
  const out = await runEvaluation(genotype, cfg, {
    train: ds.train, test: ds.test, augment: evalAugment(cfg), numClasses: ds.numClasses, imageShape: ds.train.imageShape,
  }, { ...loopHooks(ctx), clock });
  clock.begin('write');
  const result = {
    testError: out.testError, testAcc: out.testAcc, params: out.size.params, paramsWithAux: out.size.paramsWithAux,
    macs: out.size.macs, lossTrace: out.lossTrace,
  };
  fs.mkdirSync(ctx.outDir, { recursive: true });
  clock.end();
  const phases = clock.seconds();
  writeJsonAtomic(path.join(ctx.outDir, 'eval.json'), { status: out.status, error: out.error, config: cfg, genotype: work.genotype, ...result, msPerStep: out.msPerStep, steps: out.stepsRun, phases });
  return { status: out.status, error: out.error, eval: result, msPerStep: out.msPerStep, steps: out.stepsRun, phases };
}
