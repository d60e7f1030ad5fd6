// DARTS (Liu et al. 2019): every cell mixed, weighted by softmax(α/τ); first order, or second order with
// the unrolled step and a finite-difference Hessian-vector product (architect.py).
import * as tf from '@tensorflow/tfjs-core';
import { SupernetSearch, type DataShape, type ModeFn, type TensorBatch } from '../../nas/search.js';
import type { SearchConfig } from '../../nas/config.js';
import type { NamedGrads } from '../../nas/optim.js';
import { defineMethod, type MethodTraits } from '../method.js';

export class Darts extends SupernetSearch {
  /** The unrolled α step (darts-2nd) instead of the first-order one: the registry entry's trait. */
  protected readonly secondOrder: boolean;

  constructor(cfg: SearchConfig, data: DataShape, traits?: Pick<MethodTraits, 'secondOrder'>) {
    super(cfg, data);
    this.secondOrder = traits?.secondOrder ?? false;
  }

  modesFor(_purpose: 'weights' | 'arch' | 'eval'): ModeFn {
    return this.softmaxModes();
  }

  override archStep(val: TensorBatch, train: TensorBatch, lr: number): number {
    if (!this.secondOrder) return super.archStep(val, train, lr);
    const { loss, grads } = this.unrolledArchGrads(val, train, lr);
    this.applyArchGrads(grads);
    return loss;
  }

  /**
   * ∇²_{α,w} L_train(w, α)·v by central differences in w: (∇α L_train(w + R·v) − ∇α L_train(w − R·v)) / 2R,
   * R = ε/‖v‖ (architect._hessian_vector_product). `at` holds the weights w; the variables are left at w.
   */
  hessianVectorProduct(train: TensorBatch, vector: NamedGrads, at: Map<string, tf.Tensor>): NamedGrads {
    const vnorm = tf.tidy(() => tf.sqrt(tf.addN(Object.values(vector).map((g) => tf.sum(tf.square(g))))).dataSync()[0]);
    const R = this.cfg.darts.hessianEpsilon / Math.max(vnorm, 1e-12);
    const shifted = (sign: number) => {
      tf.tidy(() => {
        for (const [n, g] of Object.entries(vector)) this.weightVars.get(n)!.assign(tf.add(at.get(n)!, tf.mul(g, sign * R)));
      });
      return this.gradients(train, () => this.modesFor('arch'), this.archVars).grads;
    };
    const gPlus = shifted(1);
    const gMinus = shifted(-1);
    for (const n of Object.keys(vector)) this.weightVars.get(n)!.assign(at.get(n)!);
    const out: NamedGrads = {};
    for (const n of Object.keys(gPlus)) {
      if (gMinus[n]) out[n] = tf.tidy(() => tf.div(tf.sub(gPlus[n], gMinus[n]), 2 * R));
    }
    tf.dispose([...Object.values(gPlus), ...Object.values(gMinus)]);
    return out;
  }

  /**
   * ∇α L_val(w', α) − η·∇²_{α,w} L_train(w, α)·∇w' L_val(w', α), with w' = w − η(μ·buf + ∇w L_train + λw)
   * and the Hessian-vector product by central differences at w ± R·v, R = ε/‖v‖. Weights are restored exactly.
   */
  unrolledArchGrads(val: TensorBatch, train: TensorBatch, eta: number): { loss: number; grads: NamedGrads } {
    const { momentum, weightDecay } = this.cfg.weights;
    const saved = new Map([...this.weightVars].map(([n, v]) => [n, tf.clone(v)]));
    const restore = () => { for (const [n, v] of this.weightVars) v.assign(saved.get(n)!); };
    try {
      const { grads: gTrain } = this.gradients(train, () => this.modesFor('weights'), this.weightVars);
      tf.tidy(() => {
        for (const [n, v] of this.weightVars) {
          let d = tf.mul(v, weightDecay);
          if (gTrain[n]) d = tf.add(d, gTrain[n]);
          const buf = this.sgd.momentumBuffer(n);
          if (buf) d = tf.add(d, tf.mul(buf, momentum));
          v.assign(tf.sub(v, tf.mul(d, eta)));
        }
      });
      tf.dispose(Object.values(gTrain));
      const both = new Map([...this.archVars, ...this.weightVars]);
      const { loss, grads: gVal } = this.gradients(val, () => this.modesFor('arch'), both);
      const dAlpha: NamedGrads = {};
      const vector: NamedGrads = {};
      for (const [n, g] of Object.entries(gVal)) (this.archVars.has(n) ? dAlpha : vector)[n] = g;
      restore();
      const hv = this.hessianVectorProduct(train, vector, saved);
      const out: NamedGrads = {};
      for (const n of this.archVars.keys()) {
        out[n] = tf.tidy(() => {
          const d = dAlpha[n] ?? tf.zerosLike(this.archVars.get(n)!);
          return hv[n] ? tf.sub(d, tf.mul(hv[n], eta)) : tf.clone(d);
        });
      }
      tf.dispose([...Object.values(dAlpha), ...Object.values(vector), ...Object.values(hv)]);
      return { loss, grads: out };
    } finally {
      restore();
      tf.dispose([...saved.values()]);
    }
  }
}

const DARTS_TRAITS = { archStep: true, usesNone: true, featureSharing: false } as const;

export const DARTS_1ST = defineMethod({
  name: 'darts-1st',
  summary: 'DARTS, first-order α step',
  class: Darts,
  traits: { ...DARTS_TRAITS, secondOrder: false },
  defaults: {},
});

export const DARTS_2ND = defineMethod({
  name: 'darts-2nd',
  summary: 'DARTS, second-order α step (unrolled weights, finite-difference Hessian-vector product)',
  class: Darts,
  traits: { ...DARTS_TRAITS, secondOrder: true },
  defaults: {},
});
