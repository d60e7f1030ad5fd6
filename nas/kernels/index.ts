// The engine's differentiable primitives (NHWC, float32, PyTorch padding semantics: symmetric explicit pads).
// On wasm and cpu each is one of our tape nodes with its own gradient (checked by finite differences in
// test/kernels.test.ts), computed lazily (only for inputs on the differentiated path, e.g. no filter gradients in an
// architecture step). On native backends each is a composition of stock tfjs ops differentiated by tfjs' registered
// gradients (stock.ts; test/stock.test.ts checks it against ours). One file per op family; this file picks the path
// per call and registers the backend kernels.
import type * as tf from '@tensorflow/tfjs-core';
import type { NasKernel } from './runtime.js';
import { registerNasKernels, setAutoRegister } from './runtime.js';
import { depthwiseKernels } from './depthwise.js';
import { convKernels } from './conv.js';
import { poolKernels } from './pool.js';
import { batchNormKernels } from './batchnorm.js';
import { subsampleKernels } from './subsample.js';
import { shareKernels } from './share.js';
import { mixKernels } from './mix.js';
import { reluKernels } from './relu.js';
import { concatKernels } from './concat.js';
import { updateKernels } from './update.js';

import * as dw from './depthwise.js';
import * as conv from './conv.js';
import * as sub from './subsample.js';
import * as pool from './pool.js';
import * as bn from './batchnorm.js';
import * as mix from './mix.js';
import * as rl from './relu.js';
import * as upd from './update.js';
import * as stock from './stock.js';

export { batchNormInfer, type BatchNormOut } from './batchnorm.js';
export { concatChannels } from './concat.js';
export { chainFusable, reluConvBn, setFusedChains, type DwStage } from './chain.js';
export { kernelPath, setKernelPath, type KernelPath } from './stock.js';

// Each primitive runs our kernels on wasm and cpu, and stock tfjs ops on native backends (nas/kernels/stock.ts),
// chosen per call (kernelPath()). On the stock path argument errors come from tfjs' own op checks.
const pick = <F extends (...a: never[]) => unknown>(ours: F, theirs: F): F =>
  ((...a: Parameters<F>) => (stock.kernelPath() === 'stock' ? theirs : ours)(...a)) as F;

export const depthwiseConv2d = pick(dw.depthwiseConv2d, stock.depthwiseConv2d);
export const conv2d = pick(conv.conv2d, stock.conv2d);
export const conv1x1 = pick(conv.conv1x1, stock.conv1x1);
export const subsample = pick(sub.subsample, stock.subsample);
export const maxPool = pick(pool.maxPool, stock.maxPool);
export const avgPool = pick(pool.avgPool, stock.avgPool);
export const avgPoolValid = pick(pool.avgPoolValid, stock.avgPoolValid);
export const batchNormTrain = pick(bn.batchNormTrain, stock.batchNormTrain);
export const weightedSum = pick(mix.weightedSum, stock.weightedSum);
export const relu = pick(rl.relu, stock.relu) as <T extends tf.Tensor>(x: T) => T;
export const sgdStep = pick(upd.sgdStep, stock.sgdStep);
export const sumOfSquares = pick(upd.sumOfSquares, stock.sumOfSquares);

const ALL_KERNELS: NasKernel[] = [
  ...depthwiseKernels, ...convKernels, ...poolKernels, ...batchNormKernels, ...subsampleKernels, ...shareKernels,
  ...mixKernels, ...reluKernels, ...concatKernels, ...updateKernels,
];

/**
 * Register our kernels for a backend (call after the backend is initialised; idempotent, cheap to repeat):
 * - our own kernels (Nas*) on every backend;
 * - stock kernels wasm lacks: DepthwiseConv2dNativeBackpropInput/Filter, Conv2DBackpropFilter (so stock tf ops'
 *   gradients work there too);
 * - a correct MaxPoolGrad replacing wasm's (which sends the gradient of windows whose in-bounds values are all
 *   negative to the wrong pixel: 69 of 80 random shapes wrong, errors up to 7);
 * - zero-copy Identity and same-dtype Cast on wasm (the stock ones copy every tensor tfjs keeps for backward).
 */
export function registerKernels(backend: string): void {
  registerNasKernels(backend, ALL_KERNELS);
}

setAutoRegister(registerKernels);

/** Names of the kernels registerKernels installs (for profiles and docs). */
export const KERNEL_NAMES: readonly string[] = ALL_KERNELS.map((k) => k.name);
