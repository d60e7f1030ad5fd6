// Cells. SearchCell holds every candidate (source, op) and runs in one of two modes:
//   mixed   — a differentiable Engine/DARTS cell: node j = Σ_{i<j} Σ_k w[e(i,j), k] · o_k(x_i)
//   derived — a Transit cell: node j = Σ_{(i,k) ∈ S_j} o_k(x_i), only the selected pairs are computed.
// With feature sharing there is one op instance per (source node, op) and its output is computed once per
// forward and reused by every later node (spec §2.4); without it, one instance per (edge, op) as in DARTS.
// EvalCell is the evaluation-network cell built from a genotype (one op instance per pair, drop-path).
import * as tf from '@tensorflow/tfjs-core';
import { buildOp, FactorizedReduce, ReLUConvBN, type CandidateOp } from './ops.js';
import type { ForwardCtx } from './layers.js';
import type { ParamStore } from './params.js';
import type { OpName } from './config.js';
import type { CellGenotype } from './genotype.js';
import * as K from './kernels/index.js';

/** Number of edges of a cell with `nodes` intermediate nodes: 2 + 3 + … + (nodes + 1). */
export function edgeCount(nodes: number): number {
  return (nodes * (nodes + 3)) / 2;
}

/** Edge index of (source i → intermediate node j), j counted from 0 for node 2 (DARTS order). */
export function edgeIndex(j: number, i: number): number {
  return (j * (j + 3)) / 2 + i;
}

export interface CellShape {
  nodes: number;
  reduction: boolean;
  reductionPrev: boolean;
  cPrevPrev: number;
  cPrev: number;
  c: number;
}

/** A pair of a derived node: op index into the cell's op list and the input node. */
export type DerivedPair = [opIndex: number, input: number];

export type CellMode =
  | {
      kind: 'mixed';
      /** [edges, ops] weights (softmax(α/τ) for DARTS/EnTranNAS, q̂ for DST). */
      weights: tf.Tensor2D;
      /** Optional [edges][ops] mask: pairs known to have weight exactly 0 are skipped (DST pruning). */
      active?: boolean[][];
      /** PC-DARTS edge normalisation: a weight per edge. */
      edgeScale?: tf.Tensor1D;
      /**
       * The weights get no gradient in this pass (weight steps): they are read as constants, which spares keeping
       * every op output for an α gradient nobody asks for. Default false.
       */
      constWeights?: boolean;
    }
  | { kind: 'derived'; nodes: DerivedPair[][] };

export interface SearchCellOptions {
  sharing: boolean;
  /** PC-DARTS partial channels: 1/k of the channels go through the ops (1 = off). */
  partialChannels: number;
}

function preprocess(store: ParamStore, path: string, s: CellShape, search: boolean) {
  const pre0 = s.reductionPrev
    ? new FactorizedReduce(store, `${path}.pre0`, s.cPrevPrev, s.c, search)
    : new ReLUConvBN(store, `${path}.pre0`, s.cPrevPrev, s.c, search);
  const pre1 = new ReLUConvBN(store, `${path}.pre1`, s.cPrev, s.c, search);
  return { pre0, pre1 };
}

/** Channel shuffle with `groups` groups (PC-DARTS): [.., g, C/g] → [.., C/g, g]. */
export function channelShuffle(x: tf.Tensor4D, groups: number): tf.Tensor4D {
  const [n, h, w, c] = x.shape;
  return tf.reshape(tf.transpose(tf.reshape(x, [n, h, w, groups, c / groups]), [0, 1, 2, 4, 3]), [n, h, w, c]);
}

export class SearchCell {
  readonly edges: number;
  /** sharing: banks[i][k] per source node i; otherwise banks[e][k] per edge. */
  private readonly banks: CandidateOp[][];
  private readonly pre0: ReLUConvBN | FactorizedReduce;
  private readonly pre1: ReLUConvBN;
  readonly multiplier: number;

  constructor(store: ParamStore, readonly path: string, readonly shape: CellShape, readonly ops: OpName[], readonly options: SearchCellOptions) {
    const { nodes, reduction, c } = shape;
    this.edges = edgeCount(nodes);
    this.multiplier = nodes;
    ({ pre0: this.pre0, pre1: this.pre1 } = preprocess(store, path, shape, true));
    const pc = options.partialChannels;
    if (pc > 1 && options.sharing) throw new Error(`${path}: partial channels and feature sharing cannot be combined`);
    if (pc > 1 && c % pc !== 0) throw new Error(`${path}: ${c} channels are not divisible by the partial-channel factor ${pc}`);
    const opChannels = c / pc;
    this.banks = [];
    if (options.sharing) {
      for (let i = 0; i < nodes + 1; i++) {
        const stride = reduction && i < 2 ? 2 : 1;
        this.banks.push(ops.map((name) => buildOp(name, { store, path: `${path}.src${i}.${name}`, channels: opChannels, stride, search: true })));
      }
    } else {
      for (let j = 0; j < nodes; j++) {
        for (let i = 0; i < j + 2; i++) {
          const stride = reduction && i < 2 ? 2 : 1;
          this.banks.push(ops.map((name) => buildOp(name, { store, path: `${path}.edge${j + 2}_${i}.${name}`, channels: opChannels, stride, search: true })));
        }
      }
    }
  }

  private opFor(j: number, i: number, k: number): CandidateOp {
    return this.options.sharing ? this.banks[i][k] : this.banks[edgeIndex(j, i)][k];
  }

  forward(s0: tf.Tensor4D, s1: tf.Tensor4D, mode: CellMode, ctx: ForwardCtx): tf.Tensor4D {
    const { nodes, reduction } = this.shape;
    const states: tf.Tensor4D[] = [this.pre0.apply(s0, ctx), this.pre1.apply(s1, ctx)];
    // Feature sharing: (i, k) → output, computed once per forward. Without sharing the key includes the edge.
    const cache = new Map<string, tf.Tensor4D | null>();
    const evalOp = (j: number, i: number, k: number, x: tf.Tensor4D): tf.Tensor4D | null => {
      const key = this.options.sharing ? `${i}:${k}` : `${j}:${i}:${k}`;
      if (cache.has(key)) return cache.get(key)!;
      const op = this.opFor(j, i, k);
      if (op.name !== 'none' && ctx.opEvals) ctx.opEvals.total++;
      const y = op.apply(x, ctx);
      cache.set(key, y);
      return y;
    };
    const pc = this.options.partialChannels;
    // PC-DARTS: 1/pc of the channels go through the ops; the rest bypass them (max-pooled at stride 2),
    // then the edge output is concat + channel shuffle.
    const split = (i: number): { xin: tf.Tensor4D; bypass?: tf.Tensor4D } => {
      if (pc === 1) return { xin: states[i] };
      const c = states[i].shape[3];
      let bypass = tf.slice(states[i], [0, 0, 0, c / pc], [-1, -1, -1, -1]) as tf.Tensor4D;
      if (reduction && i < 2) bypass = K.maxPool(bypass, 2, 2, 0);
      return { xin: tf.slice(states[i], [0, 0, 0, 0], [-1, -1, -1, c / pc]) as tf.Tensor4D, bypass };
    };
    const finishEdge = (parts: tf.Tensor4D[], xin: tf.Tensor4D, bypass?: tf.Tensor4D): tf.Tensor4D | undefined => {
      if (!bypass) return parts.length === 0 ? undefined : parts.length === 1 ? parts[0] : (tf.addN(parts) as tf.Tensor4D);
      const [bn, bh, bw] = bypass.shape;
      const mixed = parts.length ? (tf.addN(parts) as tf.Tensor4D) : (tf.zeros([bn, bh, bw, xin.shape[3]]) as tf.Tensor4D);
      return channelShuffle(tf.concat([mixed, bypass], 3), pc);
    };
    // Mixed nodes without partial channels or edge scales are one weighted sum over all (input, op) terms.
    const fused = mode.kind === 'mixed' && pc === 1 && !mode.edgeScale;
    let rows: tf.Tensor1D[] | undefined;
    for (let j = 0; j < nodes; j++) {
      const terms: tf.Tensor4D[] = [];
      if (mode.kind === 'mixed' && fused) {
        const ys: tf.Tensor4D[] = [];
        const index: number[] = [];
        const opCount = mode.weights.shape[1];
        for (let i = 0; i < j + 2; i++) {
          const e = edgeIndex(j, i);
          for (let k = 0; k < this.ops.length; k++) {
            if (this.ops[k] === 'none' || (mode.active && !mode.active[e][k])) continue;
            const y = evalOp(j, i, k, states[i]);
            if (!y) continue;
            ys.push(y);
            index.push(e * opCount + k);
          }
        }
        if (ys.length) terms.push(K.weightedSum(ys, mode.weights, index, mode.constWeights));
      } else if (mode.kind === 'derived') {
        if (pc === 1) {
          for (const [k, i] of mode.nodes[j]) {
            const y = evalOp(j, i, k, states[i]);
            if (y) terms.push(y);
          }
        } else {
          for (const i of new Set(mode.nodes[j].map(([, input]) => input))) {
            const { xin, bypass } = split(i);
            const parts = mode.nodes[j].filter(([, input]) => input === i).map(([k]) => evalOp(j, i, k, xin)).filter((y): y is tf.Tensor4D => y !== null);
            const out = finishEdge(parts, xin, bypass);
            if (out) terms.push(out);
          }
        }
      } else {
        rows ??= tf.unstack(mode.weights) as tf.Tensor1D[];
        for (let i = 0; i < j + 2; i++) {
          const e = edgeIndex(j, i);
          const wk = tf.unstack(rows[e]);
          const { xin, bypass } = split(i);
          const parts: tf.Tensor4D[] = [];
          for (let k = 0; k < this.ops.length; k++) {
            if (this.ops[k] === 'none' || (mode.active && !mode.active[e][k])) continue;
            const y = evalOp(j, i, k, xin);
            if (y) parts.push(tf.mul(y, wk[k]));
          }
          // An edge whose every op is pruned contributes nothing, not even its PC-DARTS bypass channels.
          if (parts.length === 0 && mode.active) continue;
          const edgeOut = finishEdge(parts, xin, bypass);
          if (!edgeOut) continue;
          terms.push(mode.edgeScale ? (tf.mul(edgeOut, tf.slice(mode.edgeScale, [e], [1])) as tf.Tensor4D) : edgeOut);
        }
      }
      if (terms.length === 0) {
        // Every input of this node is zero (possible only with `none`-only edges): a zero feature map.
        const ref = states[1];
        const h = reduction ? Math.ceil(ref.shape[1] / 2) : ref.shape[1];
        const w = reduction ? Math.ceil(ref.shape[2] / 2) : ref.shape[2];
        states.push(tf.zeros([ref.shape[0], h, w, this.shape.c]) as tf.Tensor4D);
      } else {
        states.push(terms.length === 1 ? terms[0] : (tf.addN(terms) as tf.Tensor4D));
      }
    }
    return K.concatChannels(states.slice(2));
  }
}

/**
 * Evaluation cell from a genotype: one op instance per (node, pair), no sharing (spec A8), drop-path on non-identity ops.
 * With `searchOps` it is built from search-time ops (BN without affine, BN after pooling): the stand-alone derived cell
 * a Transit-cell must equal.
 */
export class EvalCell {
  private readonly pre0: ReLUConvBN | FactorizedReduce;
  private readonly pre1: ReLUConvBN;
  private readonly nodeOps: Array<Array<{ op: CandidateOp; input: number }>>;
  readonly multiplier: number;

  constructor(store: ParamStore, readonly path: string, readonly shape: CellShape, readonly genotype: CellGenotype, searchOps = false) {
    ({ pre0: this.pre0, pre1: this.pre1 } = preprocess(store, path, shape, searchOps));
    this.multiplier = genotype.concat.length;
    this.nodeOps = genotype.nodes.map((pairs, j) =>
      pairs.map(([name, input], p) => ({
        op: buildOp(name, { store, path: `${path}.node${j + 2}.${p}.${name}`, channels: shape.c, stride: shape.reduction && input < 2 ? 2 : 1, search: searchOps }),
        input,
      })),
    );
  }

  forward(s0: tf.Tensor4D, s1: tf.Tensor4D, ctx: ForwardCtx): tf.Tensor4D {
    const states: tf.Tensor4D[] = [this.pre0.apply(s0, ctx), this.pre1.apply(s1, ctx)];
    for (const pairs of this.nodeOps) {
      const terms: tf.Tensor4D[] = [];
      for (const { op, input } of pairs) {
        const out = op.apply(states[input], ctx);
        if (!out) continue;
        let y: tf.Tensor4D = out;
        if (ctx.training && ctx.dropPath && ctx.dropPath.prob > 0 && !op.identity) {
          const keep = 1 - ctx.dropPath.prob;
          const mask = tf.reshape(ctx.dropPath.mask(y.shape[0]), [y.shape[0], 1, 1, 1]);
          y = tf.mul(tf.div(y, keep), mask) as tf.Tensor4D;
        }
        terms.push(y);
      }
      states.push(terms.length === 1 ? terms[0] : (tf.addN(terms) as tf.Tensor4D));
    }
    return K.concatChannels(this.genotype.concat.map((i) => states[i]));
  }
}
