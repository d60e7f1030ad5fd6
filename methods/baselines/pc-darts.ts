// PC-DARTS (Xu et al. 2020): partial channel connections (1/K of the channels through the mixed op,
// the rest bypassed, then channel shuffle) and edge normalisation (a softmax over each node's incoming edges).
import * as tf from '@tensorflow/tfjs-core';
import { Darts } from './darts.js';
import { edgeIndex, type SearchCellOptions } from '../../nas/cell.js';
import { deriveTop2, softmaxRows } from '../../nas/derive.js';
import { perCellType, type ModeFn } from '../../nas/search.js';
import type { Genotype } from '../../nas/genotype.js';
import type { SearchOverrides } from '../../nas/config.js';
import { defineMethod } from '../method.js';

/** PC-DARTS's CIFAR-10 search schedule, which EnTranNAS also follows (spec A9): batch 256, lr 0.1, α lr 6e-4, α frozen 15 epochs. */
export const PC_DARTS_SCHEDULE: SearchOverrides = { batchSize: 256, weights: { lr: 0.1 }, arch: { lr: 6e-4 }, archWarmupEpochs: 15 };

/** PC-DARTS's architect.py clips nothing on α (as DARTS master). */
const PC_DARTS_DEFAULTS: SearchOverrides = { ...PC_DARTS_SCHEDULE, arch: { ...PC_DARTS_SCHEDULE.arch, gradClip: 0, gradClipBasis: 'PC-DARTS architect.py: no α clip' } };

export class PcDarts extends Darts {
  protected override cellOptions(): SearchCellOptions {
    return { sharing: false, partialChannels: this.cfg.pcdarts.k };
  }

  protected override createArchParams(): void {
    super.createArchParams();
    if (this.cfg.pcdarts.edgeNormalization) {
      this.store.create('edge.normal', 'arch', [this.edges], { kind: 'normal', std: 1e-3 });
      this.store.create('edge.reduce', 'arch', [this.edges], { kind: 'normal', std: 1e-3 });
    }
  }

  /** Per node, softmax over its incoming edges' β: [edges]. */
  private edgeWeightsTensor(reduction: boolean): tf.Tensor1D {
    const b = this.store.get(reduction ? 'edge.reduce' : 'edge.normal');
    const parts: tf.Tensor1D[] = [];
    for (let j = 0; j < this.cfg.space.nodes; j++) parts.push(tf.softmax(tf.slice(b, [edgeIndex(j, 0)], [j + 2])) as tf.Tensor1D);
    return tf.concat(parts) as tf.Tensor1D;
  }

  edgeWeights(reduction: boolean): number[] {
    const b = Array.from(this.store.get(reduction ? 'edge.reduce' : 'edge.normal').dataSync());
    const out: number[] = [];
    for (let j = 0; j < this.cfg.space.nodes; j++) out.push(...softmaxRows([b.slice(edgeIndex(j, 0), edgeIndex(j, 0) + j + 2)])[0]);
    return out;
  }

  override modesFor(): ModeFn {
    if (!this.cfg.pcdarts.edgeNormalization) return this.softmaxModes();
    return perCellType((r) => ({ kind: 'mixed', weights: this.probsTensor(r), edgeScale: this.edgeWeightsTensor(r) }));
  }

  override derive(): Genotype {
    const { ops, nodes } = this.cfg.space;
    const cell = (r: boolean) => {
      const p = this.probs(r);
      if (!this.cfg.pcdarts.edgeNormalization) return deriveTop2(p, ops, nodes);
      const w = this.edgeWeights(r);
      return deriveTop2(p.map((row, e) => row.map((v) => v * w[e])), ops, nodes);
    };
    return { format: 'darts', normal: cell(false), reduce: cell(true) };
  }
}

export const PC_DARTS = defineMethod({
  name: 'pc-darts',
  summary: 'PC-DARTS: partial channel connections (1/K of the channels) and edge normalisation',
  class: PcDarts,
  traits: { archStep: true, usesNone: true, featureSharing: false, secondOrder: false },
  defaults: PC_DARTS_DEFAULTS,
  // Every cell's channel count is a multiple of C, so C divisible by K is what the partial split needs.
  validate: (cfg) => (cfg.channels % cfg.pcdarts.k !== 0
    ? [`channels (${cfg.channels}) must be divisible by pcdarts.k (${cfg.pcdarts.k})`]
    : []),
});
