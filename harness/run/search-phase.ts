// Runs one search phase in this process (the runner's child and the `search` command both call it):
// load data, build the method, run the bi-level loop, write genotype.json and search.json atomically.
import fs from 'node:fs';
import path from 'node:path';
import type { PhaseContext, PhaseOutcome, SearchPhaseSpec } from './phase-types.js';
import type { SearchResult } from '../results/record.js';
import { loadDataset, searchSplits, CIFAR_AUGMENT, IMAGENET_AUGMENT, type AugmentConfig } from '../../nas/data/index.js';
import { createSearch } from '../../methods/registry.js';
import { runSearch } from '../../nas/train.js';
import { writeJsonAtomicSync as writeJsonAtomic } from '../../nas/util/fs.js';
import { GENOTYPE_FILE } from '../results/layout.js';
import { loopHooks } from './loop-hooks.js';
import { PhaseClock } from '../../nas/phase-clock.js';

/** Search-time augmentation: DARTS uses crop + flip on CIFAR, PC-DARTS the ImageNet transform; none on digit-like data. */
export function searchAugment(dataset: string): AugmentConfig | false {
  if (dataset === 'cifar10') return CIFAR_AUGMENT;
  if (dataset === 'imagenet') return IMAGENET_AUGMENT;
  return false;
}

export async function runSearchPhase(work: SearchPhaseSpec, ctx: PhaseContext): Promise<PhaseOutcome> {
  const cfg = work.config;
  const clock = ctx.clock ?? new PhaseClock();
  clock.begin('setup');
  const ds = await loadDataset(cfg.data);
  const splits = searchSplits(ds, cfg.data, cfg.seed, cfg.consistency.heldOut);
  const method = createSearch(cfg, { numClasses: ds.numClasses, imageShape: splits.weights.imageShape });
  clock.end();
  try {
    const out = await runSearch(method, { ...splits, augment: searchAugment(cfg.data.dataset) }, { ...loopHooks(ctx), clock });
    clock.begin('write');
    const search: SearchResult = {
      genotype: out.genotype,
      supernetValAcc: out.supernetValAcc,
      derivedValAcc: out.derivedValAcc,
      consistencyGap: out.supernetValAcc - out.derivedValAcc,
      ...(out.consistency ? { consistency: out.consistency } : {}),
      lossTrace: out.lossTrace,
      genotypeHistory: out.genotypeHistory,
      stableFromEpoch: out.stableFromEpoch,
      memoryStrategy: out.memoryStrategy,
      extra: {
        archLossTrace: out.archLossTrace, archHistory: out.archHistory, epochTraces: out.epochTraces,
        stepsPerEpoch: out.stepsPerEpoch, lrTrace: out.lrTrace, resumedFromEpoch: out.resumedFromEpoch, dataset: ds.description,
      },
    };
    fs.mkdirSync(ctx.outDir, { recursive: true });
    if (out.status === 'ok') writeJsonAtomic(path.join(ctx.outDir, GENOTYPE_FILE), out.genotype);
    clock.end();
    // search.json is written last so that its phases include its own writing up to here.
    const phases = clock.seconds();
    writeJsonAtomic(path.join(ctx.outDir, 'search.json'), { status: out.status, error: out.error, config: cfg, ...search, msPerStep: out.msPerStep, steps: out.stepsRun, phases });
    return { status: out.status, error: out.error, search, msPerStep: out.msPerStep, steps: out.stepsRun, phases };
  } finally {
    method.dispose();
  }
}
