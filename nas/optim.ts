// Optimisers with PyTorch semantics (weight decay added to the gradient), global-norm gradient clipping,
// lr schedules, and state that checkpoints can save and restore.
import * as tf from '@tensorflow/tfjs-core';
import { sgdStep, sumOfSquares } from './kernels/index.js';

export type NamedGrads = { [name: string]: tf.Tensor };

/** Flatten an optimiser state into named arrays (for checkpoints), and back. */
export function stateArrays(prefix: string, st: OptimizerState): Record<string, { shape: number[]; data: Float32Array }> {
  const out: Record<string, { shape: number[]; data: Float32Array }> = {};
  for (const [name, s] of Object.entries(st.slots)) s.data.forEach((d, i) => { out[`${prefix}:${i}:${name}`] = { shape: s.shape, data: d }; });
  return out;
}

export function arraysState(prefix: string, step: number, arrays: Record<string, { shape: number[]; data: Float32Array }>): OptimizerState {
  const slots: OptimizerState['slots'] = {};
  for (const [k, v] of Object.entries(arrays)) {
    if (!k.startsWith(`${prefix}:`)) continue;
    const rest = k.slice(prefix.length + 1);
    const colon = rest.indexOf(':');
    const i = Number(rest.slice(0, colon));
    const name = rest.slice(colon + 1);
    (slots[name] ??= { shape: v.shape, data: [] }).data[i] = v.data;
  }
  return { step, slots };
}

/** Scale grads in place so their global L2 norm is at most maxNorm (clip_grad_norm_). Returns the norm before clipping. */
export function clipByGlobalNorm(grads: NamedGrads, maxNorm: number): number {
  const names = Object.keys(grads);
  if (names.length === 0) return 0;
  // one kernel for all gradients (per tensor an f32 sum, then float64): norms of 10³ tensors in one call
  const norm = Math.sqrt(sumOfSquares(names.map((n) => grads[n])));
  if (maxNorm > 0 && Number.isFinite(norm) && norm > maxNorm) {
    const s = maxNorm / (norm + 1e-6);
    for (const n of names) {
      const g = grads[n];
      grads[n] = tf.mul(g, s);
      g.dispose();
    }
  }
  return norm;
}

export interface OptimizerState {
  step: number;
  slots: { [name: string]: { shape: number[]; data: Float32Array[] } };
}

abstract class Optimizer {
  protected readonly slots = new Map<string, tf.Variable[]>();
  step = 0;

  constructor(protected readonly vars: Map<string, tf.Variable>) {}

  protected slot(name: string, count: number): tf.Variable[] {
    let s = this.slots.get(name);
    if (!s) {
      const v = this.vars.get(name)!;
      s = Array.from({ length: count }, () => tf.variable(tf.zerosLike(v), false));
      this.slots.set(name, s);
    }
    return s;
  }

  /** Slot tensors held (created lazily, the first time a variable gets a gradient, as in PyTorch). */
  slotCount(): number {
    let n = 0;
    for (const vs of this.slots.values()) n += vs.length;
    return n;
  }

  state(): OptimizerState {
    const slots: OptimizerState['slots'] = {};
    for (const [name, vs] of this.slots) {
      slots[name] = { shape: vs[0].shape.slice(), data: vs.map((v) => v.dataSync() as Float32Array) };
    }
    return { step: this.step, slots };
  }

  load(state: OptimizerState): void {
    this.step = state.step;
    for (const [name, s] of Object.entries(state.slots)) {
      const vs = this.slot(name, s.data.length);
      s.data.forEach((d, i) => tf.tidy(() => vs[i].assign(tf.tensor(d, s.shape))));
    }
  }

  dispose(): void {
    for (const vs of this.slots.values()) vs.forEach((v) => v.dispose());
    this.slots.clear();
  }
}

/** SGD with momentum and L2 weight decay, as torch.optim.SGD. */
export class Sgd extends Optimizer {
  constructor(vars: Map<string, tf.Variable>, public momentum: number, public weightDecay: number) {
    super(vars);
  }

  apply(grads: NamedGrads, lr: number): void {
    this.step++;
    tf.tidy(() => {
      for (const [name, g0] of Object.entries(grads)) {
        const v = this.vars.get(name);
        if (!v) continue;
        if (this.momentum && g0.dtype === 'float32') {
          // one kernel per variable, the same f32 arithmetic as the elementwise ops below
          const existing = this.slots.get(name);
          const [nv, nb] = sgdStep(v, g0, this.step === 1 ? undefined : existing?.[0], lr, this.momentum, this.weightDecay);
          const [buf] = this.slot(name, 1);
          buf.assign(nb);
          v.assign(nv);
          continue;
        }
        const g = this.weightDecay ? tf.add(g0, tf.mul(v, this.weightDecay)) : g0;
        if (this.momentum) {
          const [buf] = this.slot(name, 1);
          // torch: the first step initialises the buffer to g.
          buf.assign(this.step === 1 ? g : tf.add(tf.mul(buf, this.momentum), g));
          v.assign(tf.sub(v, tf.mul(buf, lr)));
        } else {
          v.assign(tf.sub(v, tf.mul(g, lr)));
        }
      }
    });
  }

  /** The momentum buffer of a variable (DARTS' unrolled step reads it), or undefined before the first step. */
  momentumBuffer(name: string): tf.Variable | undefined {
    return this.slots.get(name)?.[0];
  }
}

/** Adam with L2 weight decay added to the gradient, as torch.optim.Adam. */
export class Adam extends Optimizer {
  constructor(vars: Map<string, tf.Variable>, public beta1: number, public beta2: number,
    public weightDecay: (name: string) => number, public eps = 1e-8) {
    super(vars);
  }

  apply(grads: NamedGrads, lr: number): void {
    this.step++;
    const bc1 = 1 - this.beta1 ** this.step;
    const bc2 = 1 - this.beta2 ** this.step;
    tf.tidy(() => {
      for (const [name, g0] of Object.entries(grads)) {
        const v = this.vars.get(name);
        if (!v) continue;
        const wd = this.weightDecay(name);
        const g = wd ? tf.add(g0, tf.mul(v, wd)) : g0;
        const [m, s] = this.slot(name, 2);
        m.assign(tf.add(tf.mul(m, this.beta1), tf.mul(g, 1 - this.beta1)));
        s.assign(tf.add(tf.mul(s, this.beta2), tf.mul(tf.square(g), 1 - this.beta2)));
        const denom = tf.add(tf.div(tf.sqrt(s), Math.sqrt(bc2)), this.eps);
        v.assign(tf.sub(v, tf.mul(tf.div(m, denom), lr / bc1)));
      }
    });
  }
}

/** Cosine annealing from lr to lrMin over `epochs` (torch CosineAnnealingLR, stepped per epoch). */
export function cosineLr(lr: number, lrMin: number, epoch: number, epochs: number): number {
  return lrMin + 0.5 * (lr - lrMin) * (1 + Math.cos((Math.PI * epoch) / Math.max(1, epochs)));
}

/**
 * Linear decay to 0, with optional linear warm-up epochs (ImageNet protocols). The warm-up is PC-DARTS's
 * train_imagenet.py: lr·(e+1)/warmup for e < warmup, so the last warm-up epoch reaches the full lr.
 */
export function linearLr(lr: number, epoch: number, epochs: number, warmup = 0): number {
  if (epoch < warmup) return (lr * (epoch + 1)) / warmup;
  return lr * (1 - epoch / Math.max(1, epochs));
}

/**
 * The search loop's weight lr: cosine annealing, scaled by (e+1)/warmup in the first `warmup` epochs
 * (PC-DARTS train_search_imagenet.py multiplies the scheduler's lr by (epoch+1)/5 while epoch < 5).
 */
export function searchLr(lr: number, lrMin: number, epoch: number, epochs: number, warmup = 0): number {
  const base = cosineLr(lr, lrMin, epoch, epochs);
  return epoch < warmup ? (base * (epoch + 1)) / warmup : base;
}
