// EnTranNAS-DST (spec §3): a learnable threshold t_j = sigmoid(β_j) per node and cell type.
//   p = softmax(α/τ) per edge, m_j = max over node j's incoming (i,k) of p, q = ReLU(p/m_j − t_j),
//   q̂ = q / Σ_k q per edge (0 where the sum is 0). Engine-cells weight by q̂; the derived set is {(i,k): q > 0},
//   so a node keeps any number of inputs and an edge may keep several ops. `none` is never kept.
import * as tf from '@tensorflow/tfjs-core';
import { EnTranNAS, ENTRANNAS } from './entrannas.js';
import { edgeIndex } from '../../nas/cell.js';
import { perCellType, type ModeFn } from '../../nas/search.js';
import type { CellGenotype, Genotype, Pair } from '../../nas/genotype.js';
import { defineMethod } from '../method.js';

export interface DstCellState {
  /** q per [edge][op] (JS numbers). */
  q: number[][];
  /** t_j per node. */
  thresholds: number[];
}

export function sigmoid(x: number): number {
  return 1 / (1 + Math.exp(-x));
}

/** q = ReLU(p/m_j − t_j) for non-`none` ops, from probabilities p [edges][ops]. */
export function dstQ(p: number[][], thresholds: number[], ops: string[]): number[][] {
  const q = p.map((row) => row.map(() => 0));
  thresholds.forEach((t, j) => {
    let m = 0;
    for (let i = 0; i < j + 2; i++) p[edgeIndex(j, i)].forEach((v, k) => { if (ops[k] !== 'none' && v > m) m = v; });
    for (let i = 0; i < j + 2; i++) {
      const e = edgeIndex(j, i);
      p[e].forEach((v, k) => { if (ops[k] !== 'none') q[e][k] = Math.max(0, v / m - t); });
    }
  });
  return q;
}

/** The derived DST cell: every (input, op) with q > 0, per node, ordered by input then op. */
export function deriveDst(q: number[][], ops: string[], nodes: number): CellGenotype {
  const out: Pair[][] = [];
  for (let j = 0; j < nodes; j++) {
    const pairs: Pair[] = [];
    for (let i = 0; i < j + 2; i++) q[edgeIndex(j, i)].forEach((v, k) => { if (v > 0) pairs.push([ops[k] as Pair[0], i]); });
    out.push(pairs);
  }
  return { nodes: out, concat: out.map((_, j) => j + 2) };
}

export class EnTranNASDst extends EnTranNAS {
  protected override createArchParams(): void {
    super.createArchParams();
    const { nodes } = this.cfg.space;
    this.store.create('beta.normal', 'arch', [nodes], { kind: 'constant', value: this.cfg.dst.betaInit });
    this.store.create('beta.reduce', 'arch', [nodes], { kind: 'constant', value: this.cfg.dst.betaInit });
  }

  /** No weight decay on β: decay would pull t toward 0.5 (spec A6). */
  protected override archWeightDecay(name: string): number {
    return name.startsWith('beta.') ? 0 : this.cfg.arch.weightDecay;
  }

  beta(reduction: boolean): tf.Variable {
    return this.store.get(reduction ? 'beta.reduce' : 'beta.normal');
  }

  state(reduction: boolean): DstCellState {
    const thresholds = Array.from(this.beta(reduction).dataSync()).map(sigmoid);
    return { q: dstQ(this.probs(reduction), thresholds, this.cfg.space.ops), thresholds };
  }

  /** q̂ as a differentiable tensor [edges, ops]: gradients reach α through p and m_j, and β through t_j. */
  qHatTensor(reduction: boolean): tf.Tensor2D {
    const { ops, nodes } = this.cfg.space;
    const mask = tf.tensor1d(ops.map((o) => (o === 'none' ? 0 : 1)));
    const p = tf.mul(this.probsTensor(reduction), mask) as tf.Tensor2D;
    const t = tf.sigmoid(this.beta(reduction));
    const parts: tf.Tensor2D[] = [];
    for (let j = 0; j < nodes; j++) {
      const rows = tf.slice(p, [edgeIndex(j, 0), 0], [j + 2, ops.length]);
      const m = tf.max(rows);
      parts.push(tf.relu(tf.sub(tf.div(rows, m), tf.slice(t, [j], [1]))) as tf.Tensor2D);
    }
    const q = tf.concat(parts, 0);
    // q ≥ 0, and the sum is 0 only when every q of the edge is 0, so q / max(sum, tiny) is q̂ with 0 there.
    return tf.div(q, tf.maximum(tf.sum(q, 1, true), 1e-12)) as tf.Tensor2D;
  }

  protected override engineModes(): ModeFn {
    return perCellType((r) => {
      const active = this.state(r).q.map((row) => row.map((v) => v > 0));
      return { kind: 'mixed', weights: this.qHatTensor(r), active };
    });
  }

  override derive(): Genotype {
    const { ops, nodes } = this.cfg.space;
    return { format: 'dst', normal: deriveDst(this.state(false).q, ops, nodes), reduce: deriveDst(this.state(true).q, ops, nodes) };
  }

  protected override archRegulariser(): tf.Scalar | undefined {
    const lambda = this.cfg.dst.sparsityPenalty;
    if (!lambda) return undefined;
    return tf.mul(lambda, tf.add(tf.sum(tf.sub(1, tf.sigmoid(this.beta(false)))), tf.sum(tf.sub(1, tf.sigmoid(this.beta(true)))))) as tf.Scalar;
  }

  /** Sparsity trace: kept pairs per node and t_j, per cell type. */
  override epochTrace(): Record<string, unknown> {
    const trace = (r: boolean) => {
      const s = this.state(r);
      const kept = deriveDst(s.q, this.cfg.space.ops, this.cfg.space.nodes).nodes.map((n) => n.length);
      return { keptPairs: kept, thresholds: s.thresholds };
    };
    return { dst: { normal: trace(false), reduce: trace(true) } };
  }
}

export const ENTRANNAS_DST = defineMethod({
  name: 'entrannas-dst',
  summary: 'EnTranNAS-DST: learnable per-node thresholds, so a node keeps any number of inputs and an edge several ops',
  class: EnTranNASDst,
  traits: ENTRANNAS.traits,
  defaults: ENTRANNAS.defaults,
});
