// PC-DARTS (Xu et al. 2020): partial channel connections (1/K of the channels through the mixed op,
// the rest bypassed, then channel shuffle) and edge normalisation (a softmax over each node's incoming edges).
import * as tf from '@tensorflow/tfjs-core';
import { Darts } from './darts.js';
import { edgeIndex, type CellMode, type SearchCellOptions } from '../../nas/cell.js';
import { deriveTop2, softmaxRows } from '../../nas/derive.js';
import type { ModeFn } from '../../nas/search.js';
import type { Genotype } from '../../nas/genotype.js';

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
    const cache = new Map<boolean, CellMode>();
    return (_i, r) => {
      let m = cache.get(r);
      if (!m) {
        m = { kind: 'mixed', weights: this.probsTensor(r), edgeScale: this.edgeWeightsTensor(r) };
        cache.set(r, m);
      }
      return m;
    };
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
