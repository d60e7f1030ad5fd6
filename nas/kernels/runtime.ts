// Shared plumbing for our JS / wasm-SIMD kernels: zero-copy Float32Array views of backend memory, output
// allocation, kernel registration, and ops whose gradients are computed lazily (only for inputs on the path).
import * as tf from '@tensorflow/tfjs-core';
import type { KernelBackend, KernelConfig, KernelFunc, NamedAttrMap, NamedTensorMap, TensorInfo } from '@tensorflow/tfjs-core';

/** A kernel implementation as we write it (tfjs' KernelFunc types backend as {} and attrs as optional). */
export type NasKernelFunc = (args: {
  inputs: Record<string, TensorInfo | undefined>;
  backend: KernelBackend;
  attrs: Record<string, unknown>;
}) => TensorInfo | TensorInfo[];

/** The parts of tfjs-backend-wasm's BackendWasm we use (not exported as a type by the package). */
export interface WasmBackendLike {
  wasm: { HEAPU8: Uint8Array; asm: { memory?: WebAssembly.Memory }; wasmMemory?: WebAssembly.Memory };
  dataIdMap: { get(dataId: object): { memoryOffset: number } | undefined };
  makeOutput(shape: number[], dtype: 'float32'): TensorInfo;
}
interface CpuBackendLike {
  data: { get(dataId: object): { values?: unknown } | undefined };
  makeTensorInfo(shape: number[], dtype: 'float32', values: Float32Array): TensorInfo;
}
interface GenericBackendLike {
  readSync(dataId: object): unknown;
  makeTensorInfo(shape: number[], dtype: 'float32', values: Float32Array): TensorInfo;
}

export function asWasm(backend: KernelBackend): WasmBackendLike | undefined {
  const b = backend as unknown as Partial<WasmBackendLike>;
  return b.wasm && b.dataIdMap && typeof b.makeOutput === 'function' ? (b as WasmBackendLike) : undefined;
}

/**
 * The heap's current buffer. On the threaded build the memory is shared and grows in place; its buffer object (not
 * emscripten's HEAPU8, which only the growing thread refreshes) always covers the whole heap.
 */
export const heapBuffer = (w: WasmBackendLike): ArrayBufferLike => w.wasm.wasmMemory?.buffer ?? w.wasm.HEAPU8.buffer;

export const size = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/** Byte offset of a tensor's data in the wasm heap. */
export const heapPtr = (w: WasmBackendLike, t: TensorInfo): number => w.dataIdMap.get(t.dataId)!.memoryOffset;

/**
 * `ptr` rounded up to a multiple of 16 bytes. emscripten's malloc aligns to 8 only (half the tensors of a step start
 * 8 bytes past a 16-byte boundary), and SIMD loads that straddle one are 5-7 % slower in the depthwise kernels
 * (bench/README.md, fourth round). Scratch buffers we lay out ourselves are allocated 4 floats longer and aligned.
 * Arithmetic, not `(ptr + 15) & ~15`: JS bit operators work on signed 32-bit integers, so every offset past 2 GiB of
 * the 4 GiB heap came out negative (entrannas-dst at the paper's size died with "Start offset -2142597072 is
 * outside the bounds of the buffer").
 */
export const align16 = (ptr: number): number => Math.ceil(ptr / 16) * 16;

/** A new float32 output on the wasm heap, filled with zeros (for kernels that accumulate into it). */
export function zeroedOutput(w: WasmBackendLike, shape: number[]): TensorInfo {
  const out = w.makeOutput(shape, 'float32');
  new Float32Array(heapBuffer(w), heapPtr(w, out), size(shape)).fill(0);
  return out;
}

function checkF32(t: TensorInfo, what: string): void {
  if (t.dtype !== 'float32') throw new Error(`nas kernel: ${what} must be float32, got ${t.dtype}`);
}

/**
 * Inputs and outputs of one kernel call as Float32Arrays.
 * wasm: views into the wasm heap (no copy). Outputs are allocated BEFORE the views are taken, because a malloc
 * can grow the heap and detach older views. Outputs are NOT zeroed on wasm (`zeroed` says so).
 * cpu: the backend's own arrays (no copy); new zeroed outputs. Other backends: copies via readSync.
 * Call finish() after writing the outputs: it returns the TensorInfos for the engine.
 */
export interface KernelIO {
  ins: Float32Array[];
  outs: Float32Array[];
  zeroed: boolean;
  finish(): TensorInfo[];
}

export function kernelIO(backend: KernelBackend, inputs: TensorInfo[], outShapes: number[][], what = 'input'): KernelIO {
  inputs.forEach((t, i) => checkF32(t, `${what} ${i}`));
  const wasm = asWasm(backend);
  if (wasm) {
    const infos = outShapes.map((s) => wasm.makeOutput(s, 'float32'));
    const buf = heapBuffer(wasm);
    const view = (t: TensorInfo): Float32Array => {
      const d = wasm.dataIdMap.get(t.dataId);
      if (!d) throw new Error('nas kernel: tensor data is not on the wasm backend');
      return new Float32Array(buf, d.memoryOffset, size(t.shape));
    };
    return { ins: inputs.map(view), outs: infos.map(view), zeroed: false, finish: () => infos };
  }
  const cpu = backend as unknown as Partial<CpuBackendLike & GenericBackendLike>;
  const read = (t: TensorInfo): Float32Array => {
    const v = cpu.data?.get(t.dataId)?.values;
    if (v instanceof Float32Array) return v;
    if (typeof cpu.readSync !== 'function') throw new Error('nas kernel: cannot read tensor data on this backend');
    const r = cpu.readSync(t.dataId);
    if (!(r instanceof Float32Array)) throw new Error('nas kernel: expected float32 data');
    return r;
  };
  const outs = outShapes.map((s) => new Float32Array(size(s)));
  if (typeof cpu.makeTensorInfo !== 'function') throw new Error('nas kernel: backend cannot make tensors');
  return {
    ins: inputs.map(read),
    outs,
    zeroed: true,
    finish: () => outShapes.map((s, i) => cpu.makeTensorInfo!(s, 'float32', outs[i])),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Registration

export interface NasKernel {
  name: string;
  func: NasKernelFunc;
  /**
   * 'custom': our own kernel name, registered on every backend.
   * 'fill': a stock tfjs kernel name, registered only where the backend lacks it.
   * 'override-wasm': replaces the stock kernel on wasm (stock one is wrong), fills elsewhere.
   */
  mode: 'custom' | 'fill' | 'override-wasm';
}

/** The stock kernels our overrides replaced, per backend and kernel name (for fallbacks). */
const replacedStock = new Map<string, KernelFunc>();

/** The backend's own kernel that registerNasKernels replaced (undefined when none was replaced). */
export function stockKernel(name: string, backendName: string): KernelFunc | undefined {
  return replacedStock.get(`${backendName}/${name}`);
}

/** Idempotent: registering twice (or after a backend switch) is a no-op. */
export function registerNasKernels(backendName: string, kernels: NasKernel[]): void {
  for (const k of kernels) {
    const existing = tf.getKernel(k.name, backendName);
    const func = k.func as unknown as KernelFunc;
    if (existing?.kernelFunc === func) continue;
    if (existing) {
      const replace = k.mode === 'custom' || (k.mode === 'override-wasm' && backendName === 'wasm');
      if (!replace) continue;
      if (k.mode === 'override-wasm' && !replacedStock.has(`${backendName}/${k.name}`)) {
        replacedStock.set(`${backendName}/${k.name}`, existing.kernelFunc);
      }
      tf.unregisterKernel(k.name, backendName);
    }
    const config: KernelConfig = { kernelName: k.name, backendName, kernelFunc: func };
    tf.registerKernel(config);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Ops with lazy gradients

type Thunks = Record<string, () => tf.Tensor>;
interface EnginePrivate {
  clone(x: tf.Tensor): tf.Tensor;
  backend: KernelBackend;
  backendName: string;
  state: { tensorInfo: WeakMap<object, { backend: KernelBackend }> };
  makeTensorFromTensorInfo(info: TensorInfo, backend?: KernelBackend): tf.Tensor;
  startScope(name?: string): void;
  endScope(result?: tf.TensorContainer): void;
  runKernelFunc(params: {
    forwardFunc: (backend: KernelBackend, save: (ts: tf.Tensor[]) => void) => tf.Tensor | tf.Tensor[];
    backwardsFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => Thunks;
    inputs: NamedTensorMap;
  }): tf.Tensor | tf.Tensor[];
}

// tfjs keeps every saved tensor as engine.clone(t): an Identity kernel call plus a tape node (whose only use would
// be differentiating through the saved copy) per tensor, ~8.7k of each per darts-1st step. What our own ops save
// is read by their backward functions only, which run our gradient-less kernels and are never differentiated, so
// while they save, clone shares the buffer directly (reference count + a new Tensor, exactly what the zero-copy
// Identity kernels of share.ts and tfjs-backend-cpu do) with no kernel call and no tape node.
let cheapSave = false;
let shareSaves = true;
const SHARING_BACKENDS = new Set(['wasm', 'cpu']);

/** Switch the shared saves off (true: the default) — for before/after benchmarks (bench/ab-step.ts) only. */
export function setSharedSaves(on: boolean): void {
  shareSaves = on;
}
let patchedEngine: EnginePrivate | undefined;

function installCheapClone(engine: EnginePrivate): void {
  if (patchedEngine === engine) return;
  patchedEngine = engine;
  const clone = engine.clone;
  engine.clone = function (this: EnginePrivate, x: tf.Tensor): tf.Tensor {
    // wasm and cpu only: KernelBackend's own incRef throws, and other backends' buffers may not be shareable
    const backend = this.backend as KernelBackend & { incRef(dataId: object): void };
    if (!cheapSave || !SHARING_BACKENDS.has(this.backendName) || this.state.tensorInfo.get(x.dataId)?.backend !== backend) {
      return clone.call(this, x);
    }
    backend.incRef(x.dataId);
    return this.makeTensorFromTensorInfo({ dataId: x.dataId, shape: x.shape, dtype: x.dtype }, backend);
  };
}

/**
 * Run `forward` (any tf ops; intermediates are freed) as one tape node named `name`, whose gradient for each
 * input is computed only if the backward pass asks for it (tfjs prunes inputs that are off the x→y path;
 * tf.customGrad would compute every input's gradient eagerly). `save` keeps tensors for the backward pass.
 * No registered gradients are needed. Backward gets dy for every output (zeros for unused outputs).
 */
export function lazyGradOp<T extends tf.Tensor | tf.Tensor[]>(
  name: string,
  inputs: Record<string, tf.Tensor>,
  forward: (save: (ts: tf.Tensor[]) => void) => T,
  backward: (dy: tf.Tensor[], saved: tf.Tensor[]) => Thunks,
): T {
  const engine = tf.engine() as unknown as EnginePrivate;
  installCheapClone(engine);
  const saveShared = (save: (ts: tf.Tensor[]) => void) => (ts: tf.Tensor[]) => {
    cheapSave = shareSaves;
    try {
      save(ts);
    } finally {
      cheapSave = false;
    }
  };
  engine.startScope(name);
  let out: T | undefined;
  try {
    out = engine.runKernelFunc({
      forwardFunc: (_b, save) => forward(saveShared(save)),
      backwardsFunc: (dy, saved) => backward(Array.isArray(dy) ? dy : [dy], saved),
      inputs,
    }) as T;
  } finally {
    engine.endScope(out);
  }
  return out;
}

/**
 * Run a registered kernel's function on the engine's backend directly, outside the engine: no Tensor objects, no
 * scope, no tape node, no memory accounting. The caller owns what it returns: hand it to tensorOf, or free it with
 * disposeInfo. For kernels composed inside one of our own tape nodes (chain.ts); anything else goes through
 * runKernel. Our Nas* kernels are registered on first use, as runKernel does.
 */
export function callKernel(name: string, inputs: Record<string, TensorInfo>, attrs: Record<string, unknown> = {}): TensorInfo | TensorInfo[] {
  const engine = tf.engine() as unknown as EnginePrivate;
  const backend = engine.backend;
  let kernel = tf.getKernel(name, engine.backendName);
  if (!kernel && autoRegister && name.startsWith('Nas')) {
    autoRegister(engine.backendName);
    kernel = tf.getKernel(name, engine.backendName);
  }
  if (!kernel) throw new Error(`nas kernels: no kernel ${name} is registered for backend ${engine.backendName}`);
  return kernel.kernelFunc({ inputs, backend, attrs } as unknown as Parameters<KernelFunc>[0]) as TensorInfo | TensorInfo[];
}

/** A Tensor (tracked in the current scope) for a TensorInfo that callKernel returned; it takes the TensorInfo's reference. */
export function tensorOf<T extends tf.Tensor = tf.Tensor>(info: TensorInfo): T {
  const engine = tf.engine() as unknown as EnginePrivate;
  return engine.makeTensorFromTensorInfo(info, engine.backend) as T;
}

/** Free a TensorInfo that callKernel returned and no Tensor took. */
export function disposeInfo(info: TensorInfo): void {
  tf.backend().disposeData(info.dataId);
}

let autoRegister: ((backend: string) => void) | undefined;
/** index.ts installs registerKernels here, so our ops also work on a backend nobody called registerKernels for. */
export function setAutoRegister(fn: (backend: string) => void): void {
  autoRegister = fn;
}

/** Run a registered kernel (ours or stock) directly; our Nas* kernels are registered on first use if needed. */
export function runKernel<T extends tf.Tensor | tf.Tensor[] = tf.Tensor>(
  name: string,
  inputs: NamedTensorMap,
  attrs: NamedAttrMap = {},
): T {
  const engine = tf.engine();
  if (!autoRegister || !name.startsWith('Nas')) return engine.runKernel<T>(name, inputs, attrs);
  try {
    return engine.runKernel<T>(name, inputs, attrs);
  } catch (err) {
    // the engine checks for the kernel before doing anything else: register ours and run again
    const backend = tf.getBackend();
    if (tf.getKernel(name, backend)) throw err;
    autoRegister(backend);
    return engine.runKernel<T>(name, inputs, attrs);
  }
}
