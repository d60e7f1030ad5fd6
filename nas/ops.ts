// Candidate-op registry (spec §1.1): one table from name to a small constructor. The op list is a suite setting.
import * as tf from '@tensorflow/tfjs-core';
import * as K from './kernels/index.js';
import { BatchNorm, Depthwise, Pointwise, type ForwardCtx } from './layers.js';
import type { ParamStore } from './params.js';
import type { OpName } from './config.js';

export interface OpArgs {
  store: ParamStore;
  path: string;
  channels: number;
  stride: number;
  /** Search ops: affine=false BN with batch statistics, BN after pooling. Eval ops: affine BN, running stats, no BN after pooling. */
  search: boolean;
}

export interface CandidateOp {
  readonly name: OpName;
  /** Has weights (sep/dil conv, and skip at stride 2 through FactorizedReduce). */
  readonly parametric: boolean;
  /** Plain identity (skip_connect at stride 1): never dropped by drop-path. */
  readonly identity: boolean;
  /** null means the zero op: contributes nothing. */
  apply(x: tf.Tensor4D, ctx: ForwardCtx): tf.Tensor4D | null;
}

function bn(a: OpArgs, path: string, c: number): BatchNorm {
  return new BatchNorm(a.store, path, c, !a.search, !a.search);
}

/**
 * ReLU → [depthwise] → pointwise → BN: one fused tape node where it can be (search cells' BN on our SIMD kernels,
 * kernels/chain.ts, bit-identical), else the layers one by one.
 */
function reluChain(x: tf.Tensor4D, dw: Depthwise | undefined, pw: Pointwise, norm: BatchNorm, ctx: ForwardCtx): tf.Tensor4D {
  const stage = dw?.stage();
  if (pw.stride === 1 && norm.batchStatsOnly(ctx) && K.chainFusable(x, stage, pw.w as tf.Tensor2D)) {
    const y = K.reluConvBn(x, stage, pw.w as tf.Tensor2D);
    dw?.countMacs(y, ctx);
    pw.countMacs(y, ctx);
    return y;
  }
  const r = K.relu(x);
  return norm.apply(pw.apply(dw ? dw.apply(r, ctx) : r, ctx), ctx);
}

/** ReLU → 1×1 conv → BN (preprocessing of cell inputs). */
export class ReLUConvBN {
  private readonly conv: Pointwise;
  private readonly bn: BatchNorm;
  constructor(store: ParamStore, path: string, cin: number, cout: number, search: boolean) {
    this.conv = new Pointwise(store, `${path}.conv`, cin, cout);
    this.bn = new BatchNorm(store, `${path}.bn`, cout, !search, !search);
  }
  apply(x: tf.Tensor4D, ctx: ForwardCtx): tf.Tensor4D {
    return reluChain(x, undefined, this.conv, this.bn, ctx);
  }
}

/** ReLU, two 1×1 stride-2 convs (the second reads x shifted by one pixel), concat, BN. */
export class FactorizedReduce {
  private readonly conv1: Pointwise;
  private readonly conv2: Pointwise;
  private readonly bn: BatchNorm;
  constructor(store: ParamStore, path: string, cin: number, cout: number, search: boolean) {
    if (cout % 2 !== 0) throw new Error(`FactorizedReduce at ${path} needs an even output channel count, got ${cout}`);
    this.conv1 = new Pointwise(store, `${path}.conv_1`, cin, cout / 2, 2);
    this.conv2 = new Pointwise(store, `${path}.conv_2`, cin, cout / 2, 2);
    this.bn = new BatchNorm(store, `${path}.bn`, cout, !search, !search);
  }
  apply(x: tf.Tensor4D, ctx: ForwardCtx): tf.Tensor4D {
    const r = K.relu(x);
    const a = this.conv1.apply(r, ctx, 0);
    const b = this.conv2.apply(r, ctx, 1);
    return this.bn.apply(K.concatChannels([a, b]), ctx);
  }
}

class SepConv {
  private readonly dw1: Depthwise; private readonly pw1: Pointwise; private readonly bn1: BatchNorm;
  private readonly dw2: Depthwise; private readonly pw2: Pointwise; private readonly bn2: BatchNorm;
  constructor(a: OpArgs, k: number) {
    const c = a.channels;
    const p = Math.floor(k / 2);
    this.dw1 = new Depthwise(a.store, `${a.path}.dw1`, c, k, a.stride, p, 1);
    this.pw1 = new Pointwise(a.store, `${a.path}.pw1`, c, c);
    this.bn1 = bn(a, `${a.path}.bn1`, c);
    this.dw2 = new Depthwise(a.store, `${a.path}.dw2`, c, k, 1, p, 1);
    this.pw2 = new Pointwise(a.store, `${a.path}.pw2`, c, c);
    this.bn2 = bn(a, `${a.path}.bn2`, c);
  }
  apply(x: tf.Tensor4D, ctx: ForwardCtx): tf.Tensor4D {
    const h = reluChain(x, this.dw1, this.pw1, this.bn1, ctx);
    return reluChain(h, this.dw2, this.pw2, this.bn2, ctx);
  }
}

class DilConv {
  private readonly dw: Depthwise; private readonly pw: Pointwise; private readonly bn: BatchNorm;
  constructor(a: OpArgs, k: number) {
    const c = a.channels;
    this.dw = new Depthwise(a.store, `${a.path}.dw`, c, k, a.stride, k - 1, 2);
    this.pw = new Pointwise(a.store, `${a.path}.pw`, c, c);
    this.bn = bn(a, `${a.path}.bn`, c);
  }
  apply(x: tf.Tensor4D, ctx: ForwardCtx): tf.Tensor4D {
    return reluChain(x, this.dw, this.pw, this.bn, ctx);
  }
}

function make(name: OpName, parametric: boolean, identity: boolean, f: (x: tf.Tensor4D, ctx: ForwardCtx) => tf.Tensor4D | null): CandidateOp {
  return { name, parametric, identity, apply: f };
}

function pool(a: OpArgs, name: 'max_pool_3x3' | 'avg_pool_3x3'): CandidateOp {
  const norm = a.search ? bn(a, `${a.path}.bn`, a.channels) : undefined;
  const p = name === 'max_pool_3x3' ? K.maxPool : K.avgPool;
  return make(name, false, false, (x, ctx) => {
    const y = p(x, 3, a.stride, 1);
    return norm ? norm.apply(y, ctx) : y;
  });
}

export const OPS: Record<OpName, (a: OpArgs) => CandidateOp> = {
  none: () => make('none', false, false, () => null),
  max_pool_3x3: (a) => pool(a, 'max_pool_3x3'),
  avg_pool_3x3: (a) => pool(a, 'avg_pool_3x3'),
  skip_connect: (a) => {
    if (a.stride === 1) return make('skip_connect', false, true, (x) => x);
    const fr = new FactorizedReduce(a.store, `${a.path}.fr`, a.channels, a.channels, a.search);
    return make('skip_connect', true, false, (x, ctx) => fr.apply(x, ctx));
  },
  sep_conv_3x3: (a) => { const m = new SepConv(a, 3); return make('sep_conv_3x3', true, false, (x, c) => m.apply(x, c)); },
  sep_conv_5x5: (a) => { const m = new SepConv(a, 5); return make('sep_conv_5x5', true, false, (x, c) => m.apply(x, c)); },
  dil_conv_3x3: (a) => { const m = new DilConv(a, 3); return make('dil_conv_3x3', true, false, (x, c) => m.apply(x, c)); },
  dil_conv_5x5: (a) => { const m = new DilConv(a, 5); return make('dil_conv_5x5', true, false, (x, c) => m.apply(x, c)); },
};

export function buildOp(name: OpName, args: OpArgs): CandidateOp {
  const f = OPS[name];
  if (!f) throw new Error(`unknown op "${name}"`);
  return f(args);
}
