// The engine's differentiable primitives (NHWC, float32, PyTorch padding semantics: symmetric explicit pads).
// Every function here has correct gradients on every backend (checked by finite differences in
// test/kernels.test.ts) and needs no registered tfjs gradient: each is one tape node whose gradients are computed
// lazily (only for inputs on the differentiated path, e.g. no filter gradients in an architecture step).
// One file per op family; this file re-exports them and registers the backend kernels.
import type { NasKernel } from './memory.js';
import { registerNasKernels, setAutoRegister } from './memory.js';
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

export { depthwiseConv2d } from './depthwise.js';
export { conv2d, conv1x1 } from './conv.js';
export { subsample } from './subsample.js';
export { maxPool, avgPool, avgPoolValid } from './pool.js';
export { batchNormTrain, batchNormInfer, type BatchNormOut } from './batchnorm.js';
export { weightedSum } from './mix.js';
export { relu } from './relu.js';
export { concatChannels } from './concat.js';
export { sgdStep, sumOfSquares } from './update.js';

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
