// Networks: the search network (stem, L cells, reductions at ⌊L/3⌋ and ⌊2L/3⌋) and the CIFAR and ImageNet
// (mobile) evaluation networks of DARTS, plus the counters: params without and with the auxiliary head, MACs.
import * as tf from '@tensorflow/tfjs-core';
import { BatchNorm, Conv2d, Linear, type ForwardCtx } from './layers.js';
import { EvalCell, SearchCell, type CellMode, type SearchCellOptions } from './cell.js';
import { ParamStore } from './params.js';
import { Rng } from './rng.js';
import type { OpName } from './config.js';
import type { Genotype } from './genotype.js';
import * as K from './kernels/index.js';

export function reductionIndices(layers: number): number[] {
  return [Math.floor(layers / 3), Math.floor((2 * layers) / 3)];
}

export interface StemOut {
  s0: tf.Tensor4D;
  s1: tf.Tensor4D;
}

/** CIFAR stem: conv3×3 (in→cStem), BN. s0 = s1 = stem output. */
class CifarStem {
  private readonly conv: Conv2d;
  private readonly bn: BatchNorm;
  constructor(store: ParamStore, inCh: number, cStem: number, search: boolean) {
    this.conv = new Conv2d(store, 'stem.conv', inCh, cStem, 3, 1, 1);
    this.bn = new BatchNorm(store, 'stem.bn', cStem, !search, !search);
  }
  apply(x: tf.Tensor4D, ctx: ForwardCtx): StemOut {
    const y = this.bn.apply(this.conv.apply(x, ctx), ctx);
    return { s0: y, s1: y };
  }
}

/** ImageNet stems: stem0 = conv s2 (→C/2), BN, ReLU, conv s2 (→C), BN; stem1 = ReLU, conv s2, BN. */
class ImageNetStem {
  private readonly c0a: Conv2d; private readonly b0a: BatchNorm;
  private readonly c0b: Conv2d; private readonly b0b: BatchNorm;
  private readonly c1: Conv2d; private readonly b1: BatchNorm;
  constructor(store: ParamStore, inCh: number, c: number, search: boolean) {
    this.c0a = new Conv2d(store, 'stem0.conv1', inCh, c / 2, 3, 2, 1);
    this.b0a = new BatchNorm(store, 'stem0.bn1', c / 2, !search, !search);
    this.c0b = new Conv2d(store, 'stem0.conv2', c / 2, c, 3, 2, 1);
    this.b0b = new BatchNorm(store, 'stem0.bn2', c, !search, !search);
    this.c1 = new Conv2d(store, 'stem1.conv', c, c, 3, 2, 1);
    this.b1 = new BatchNorm(store, 'stem1.bn', c, !search, !search);
  }
  apply(x: tf.Tensor4D, ctx: ForwardCtx): StemOut {
    const h = tf.relu(this.b0a.apply(this.c0a.apply(x, ctx), ctx));
    const s0 = this.b0b.apply(this.c0b.apply(h, ctx), ctx);
    const s1 = this.b1.apply(this.c1.apply(tf.relu(s0), ctx), ctx);
    return { s0, s1 };
  }
}

function globalAvgPool(x: tf.Tensor4D): tf.Tensor2D {
  return tf.mean(x, [1, 2]) as tf.Tensor2D;
}

export interface SearchNetOptions {
  channels: number;
  layers: number;
  numClasses: number;
  inputChannels: number;
  stemMultiplier: number;
  nodes: number;
  ops: OpName[];
  stem: 'cifar' | 'imagenet';
  /** Per-cell options (feature sharing, partial channels). */
  cellOptions: (index: number, reduction: boolean) => SearchCellOptions;
}

export class SearchNetwork {
  readonly cells: SearchCell[] = [];
  readonly reductions: number[];
  private readonly stem: CifarStem | ImageNetStem;
  private readonly classifier: Linear;

  constructor(readonly store: ParamStore, readonly opts: SearchNetOptions) {
    const { channels: C, layers, nodes } = opts;
    this.reductions = reductionIndices(layers);
    let cPP: number, cP: number, cCur: number, reductionPrev: boolean;
    if (opts.stem === 'cifar') {
      const cStem = opts.stemMultiplier * C;
      this.stem = new CifarStem(store, opts.inputChannels, cStem, true);
      [cPP, cP, cCur, reductionPrev] = [cStem, cStem, C, false];
    } else {
      const cStem = opts.stemMultiplier * C;
      this.stem = new ImageNetStem(store, opts.inputChannels, cStem, true);
      [cPP, cP, cCur, reductionPrev] = [cStem, cStem, C, true];
    }
    for (let i = 0; i < layers; i++) {
      const reduction = this.reductions.includes(i);
      if (reduction) cCur *= 2;
      const cell = new SearchCell(store, `cells.${i}`, { nodes, reduction, reductionPrev, cPrevPrev: cPP, cPrev: cP, c: cCur }, opts.ops, opts.cellOptions(i, reduction));
      this.cells.push(cell);
      reductionPrev = reduction;
      [cPP, cP] = [cP, nodes * cCur];
    }
    this.classifier = new Linear(store, 'classifier', cP, opts.numClasses);
  }

  isReduction(i: number): boolean {
    return this.reductions.includes(i);
  }

  /** Logits; modeFor gives each cell its mode (mixed weights or a derived set). */
  forward(x: tf.Tensor4D, modeFor: (index: number, reduction: boolean) => CellMode, ctx: ForwardCtx): tf.Tensor2D {
    let { s0, s1 } = this.stem.apply(x, ctx);
    this.cells.forEach((cell, i) => {
      const out = cell.forward(s0, s1, modeFor(i, this.isReduction(i)), ctx);
      [s0, s1] = [s1, out];
    });
    return this.classifier.apply(globalAvgPool(s1), ctx);
  }
}

/**
 * DARTS auxiliary heads (CIFAR: pool 5 stride 3 with BN after the 2×2 conv; ImageNet: stride 2, no BN there).
 * They expect an 8×8 (CIFAR) or 14×14 (ImageNet) input; on smaller proxy inputs the pool and the 2×2 conv shrink
 * to fit (min(5, side) and min(2, pooled side)), which only proxy runs ever see.
 */
class AuxiliaryHead {
  private readonly conv1: Conv2d; private readonly bn1: BatchNorm;
  private readonly conv2: Conv2d; private readonly bn2?: BatchNorm;
  private readonly classifier: Linear;
  private readonly pool: number;
  private readonly stride: number;
  constructor(store: ParamStore, c: number, numClasses: number, kind: 'cifar' | 'imagenet', side: number) {
    this.pool = Math.min(5, side);
    this.stride = kind === 'cifar' ? 3 : 2;
    const pooled = Math.floor((side - this.pool) / this.stride) + 1;
    this.conv1 = new Conv2d(store, 'auxiliary.conv1', c, 128, 1, 1, 0);
    this.bn1 = new BatchNorm(store, 'auxiliary.bn1', 128, true, true);
    this.conv2 = new Conv2d(store, 'auxiliary.conv2', 128, 768, Math.min(2, pooled), 1, 0);
    if (kind === 'cifar') this.bn2 = new BatchNorm(store, 'auxiliary.bn2', 768, true, true);
    this.classifier = new Linear(store, 'auxiliary.classifier', 768, numClasses);
  }
  apply(x: tf.Tensor4D, ctx: ForwardCtx): tf.Tensor2D {
    let h = K.avgPoolValid(tf.relu(x), this.pool, this.stride);
    h = tf.relu(this.bn1.apply(this.conv1.apply(h, ctx), ctx));
    h = this.conv2.apply(h, ctx);
    if (this.bn2) h = this.bn2.apply(h, ctx);
    h = tf.relu(h);
    return this.classifier.apply(tf.reshape(h, [h.shape[0], -1]) as tf.Tensor2D, ctx);
  }
}

export interface EvalNetOptions {
  kind: 'cifar' | 'imagenet';
  channels: number;
  layers: number;
  numClasses: number;
  inputChannels: number;
  auxiliary: boolean;
  genotype: Genotype;
  /** Input side (32 for CIFAR, 224 for ImageNet by default); sizes the auxiliary head on proxy inputs. */
  imageSize?: number;
}

export interface EvalOutput {
  logits: tf.Tensor2D;
  auxLogits?: tf.Tensor2D;
}

/** NetworkCIFAR / NetworkImageNet of the DARTS code. */
export class EvalNetwork {
  readonly cells: EvalCell[] = [];
  readonly reductions: number[];
  private readonly stem: CifarStem | ImageNetStem;
  private readonly aux?: AuxiliaryHead;
  private readonly auxAfter: number;
  private readonly classifier: Linear;

  constructor(readonly store: ParamStore, readonly opts: EvalNetOptions) {
    const { channels: C, layers, genotype } = opts;
    this.reductions = reductionIndices(layers);
    this.auxAfter = Math.floor((2 * layers) / 3);
    let cPP: number, cP: number, cCur: number, reductionPrev: boolean;
    if (opts.kind === 'cifar') {
      const cStem = 3 * C;
      this.stem = new CifarStem(store, opts.inputChannels, cStem, false);
      [cPP, cP, cCur, reductionPrev] = [cStem, cStem, C, false];
    } else {
      this.stem = new ImageNetStem(store, opts.inputChannels, C, false);
      [cPP, cP, cCur, reductionPrev] = [C, C, C, true];
    }
    let cAux = 0;
    for (let i = 0; i < layers; i++) {
      const reduction = this.reductions.includes(i);
      if (reduction) cCur *= 2;
      const cg = reduction ? genotype.reduce : genotype.normal;
      const cell = new EvalCell(store, `cells.${i}`, { nodes: cg.nodes.length, reduction, reductionPrev, cPrevPrev: cPP, cPrev: cP, c: cCur }, cg);
      this.cells.push(cell);
      reductionPrev = reduction;
      [cPP, cP] = [cP, cell.multiplier * cCur];
      if (i === this.auxAfter) cAux = cP;
    }
    if (opts.auxiliary) {
      // Side of the map after cell auxAfter: the stems divide by 1 (CIFAR) or 8 (ImageNet), each reduction by 2.
      let side = Math.ceil((opts.imageSize ?? evalImageSize(opts.kind)) / (opts.kind === 'cifar' ? 1 : 8));
      for (const r of this.reductions) if (r <= this.auxAfter) side = Math.ceil(side / 2);
      this.aux = new AuxiliaryHead(store, cAux, opts.numClasses, opts.kind, side);
    }
    this.classifier = new Linear(store, 'classifier', cP, opts.numClasses);
  }

  forward(x: tf.Tensor4D, ctx: ForwardCtx): EvalOutput {
    let { s0, s1 } = this.stem.apply(x, ctx);
    let auxLogits: tf.Tensor2D | undefined;
    this.cells.forEach((cell, i) => {
      const out = cell.forward(s0, s1, ctx);
      [s0, s1] = [s1, out];
      if (i === this.auxAfter && this.aux && ctx.training) auxLogits = this.aux.apply(s1, ctx);
    });
    // ImageNet: AvgPool2d(7) on the 7×7 map is the global average; both are a global mean here.
    return { logits: this.classifier.apply(globalAvgPool(s1), ctx), auxLogits };
  }
}

export interface ModelSize {
  /** Trainable parameters excluding the auxiliary head (the DARTS code's convention). */
  params: number;
  paramsWithAux: number;
  /** Conv and linear multiply-accumulates of one inference forward pass (no auxiliary head). */
  macs: number;
}

export function evalImageSize(kind: 'cifar' | 'imagenet'): number {
  return kind === 'cifar' ? 32 : 224;
}

/** Params and MACs of an evaluation network, counted on a batch-1 forward at the dataset's standard size. */
export function measureEvalNetwork(opts: Omit<EvalNetOptions, 'auxiliary'>, imageSize = evalImageSize(opts.kind)): ModelSize {
  const store = new ParamStore(new Rng(0));
  try {
    const net = new EvalNetwork(store, { ...opts, auxiliary: true, imageSize });
    const ctx: ForwardCtx = { training: false, macs: { total: 0 } };
    tf.tidy(() => {
      net.forward(tf.zeros([1, imageSize, imageSize, opts.inputChannels]) as tf.Tensor4D, ctx);
    });
    return {
      params: store.count('weight', (p) => !p.startsWith('auxiliary.')),
      paramsWithAux: store.count('weight'),
      macs: ctx.macs!.total,
    };
  } finally {
    store.dispose();
  }
}
