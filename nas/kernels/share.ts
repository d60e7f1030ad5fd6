// Zero-copy Identity and same-dtype Cast for wasm. The stock wasm kernels copy the whole buffer, and tfjs runs
// Identity for every tensor it keeps for a backward pass (engine.clone in saveTensorsForBackwardMode and in
// custom ops' save), and Cast(x, its own dtype) in several gradients (Multiply's among them): in a super-net step
// that is ~12k full copies of activations, a large share of the time and of the peak memory. tfjs tensors are
// immutable (variables get new buffers on assign), so sharing the buffer with a reference count is what the cpu
// and webgl backends already do.
import type { TensorInfo } from '@tensorflow/tfjs-core';
import { stockKernel, type NasKernel, type NasKernelFunc } from './runtime.js';

interface RefCounted { incRef(dataId: object): void }

const share = (backend: unknown, x: TensorInfo): TensorInfo => {
  (backend as RefCounted).incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
};

const identityKernel: NasKernelFunc = ({ inputs, backend }) => share(backend, inputs.x as TensorInfo);

const castKernel: NasKernelFunc = ({ inputs, attrs, backend }) => {
  const x = inputs.x as TensorInfo;
  if (attrs.dtype === x.dtype) return share(backend, x);
  const stock = stockKernel('Cast', 'wasm');
  if (!stock) throw new Error('nas kernels: the stock wasm Cast kernel is missing');
  return stock({ inputs: { x }, attrs: attrs as never, backend }) as TensorInfo;
};

export const shareKernels: NasKernel[] = [
  { name: 'Identity', func: identityKernel, mode: 'override-wasm' },
  { name: 'Cast', func: castKernel, mode: 'override-wasm' },
];
