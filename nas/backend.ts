// Pick and initialise a tfjs backend: tensorflow-gpu | tensorflow | wasm | cpu | auto.
// tfjs-node(-gpu) are optional peer dependencies: detected at run time, never required to install.
import * as tf from '@tensorflow/tfjs-core';
// The union package's node bundle registers every op gradient on the shared tfjs-core (tfjs-core alone has none).
import '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-cpu';
import { setWasmPaths, getThreadsCount } from '@tensorflow/tfjs-backend-wasm';
import { guardWasmHeap, type MallocModule } from './kernels/heap.js';
import { createRequire } from 'node:module';
import path from 'node:path';
import os from 'node:os';
import { registerKernels } from './kernels/index.js';
import { withWasmThreads } from './kernels/threads.js';
import { setKernelThreads } from './kernels/parallel.js';
import { nodeGpuEnvironment, verifyGpu, type GpuCheck, type GpuEnvironment } from './gpu-check.js';

export const BACKEND_NAMES = ['auto', 'tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'] as const;
export type BackendChoice = (typeof BACKEND_NAMES)[number];
export type BackendName = Exclude<BackendChoice, 'auto'>;

export interface BackendInfo {
  name: BackendName;
  /** tfjs' own backend name (tensorflow for both node packages). */
  tfjsBackend: string;
  threads: number;
  simd: boolean;
  tfjsVersion: string;
  /** The optional node package that provided the backend, when one did. */
  nodePackage?: string;
  /** Why faster candidates were skipped (auto only). */
  skipped: string[];
  /** Device class for GPU-day accounting: 'gpu' only when the GPU check passed (nas/gpu-check.ts). */
  device: 'gpu' | 'cpu';
  /** tensorflow-gpu: the GPU check's evidence and the GPU's model, driver, CUDA and cuDNN versions. */
  gpu?: GpuCheck;
}

export interface BackendOptions {
  /** tensorflow-gpu that fell back to the CPU: run on and book CPU time instead of stopping. */
  allowCpuFallback?: boolean;
  /** The GPU check's environment (tests simulate one); default the real backend, nvidia-smi and ldconfig. */
  gpuEnvironment?: GpuEnvironment;
  /** wasm threads (tfjs' threaded build plus our kernels on helper threads); default 1 or $NAS_THREADS. */
  threads?: number;
}

const require = createRequire(import.meta.url);
export function isBackendChoice(s: string): s is BackendChoice {
  return (BACKEND_NAMES as readonly string[]).includes(s);
}

async function tryNode(pkg: '@tensorflow/tfjs-node-gpu' | '@tensorflow/tfjs-node'): Promise<string | undefined> {
  try {
    await import(pkg);
    return undefined;
  } catch (err) {
    const msg = err instanceof Error ? err.message.split('\n')[0] : String(err);
    return `${pkg}: ${/Cannot find (package|module)/.test(msg) ? 'not installed' : msg}`;
  }
}

/** Threads of the wasm backend in this process (fixed by the first start: the module is initialised once). */
let wasmThreads: number | undefined;

/** The default thread count: $NAS_THREADS, else 1 (commands pass --threads, default 1 too; compare-torch the core count). */
export function defaultThreads(): number {
  const env = process.env.NAS_THREADS;
  return env ? parseThreads(env, 'NAS_THREADS') : 1;
}

export function parseThreads(s: string, what = '--threads'): number {
  const n = Number(s);
  if (!Number.isInteger(n) || n < 1 || n > 8) throw new Error(`${what} must be an integer from 1 to 8, got "${s}"`);
  return n;
}

async function initWasm(threads: number): Promise<void> {
  if (wasmThreads !== undefined && wasmThreads !== threads) {
    throw new Error(`the wasm backend already runs with ${wasmThreads} thread(s) in this process; ` +
      `the thread count is fixed when it starts (asked for ${threads})`);
  }
  const wasmDir = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'));
  setWasmPaths(wasmDir + path.sep);
  // our kernels split over the same threads; they need the threaded build's shared memory (threads > 1)
  setKernelThreads(threads);
  wasmThreads = threads;
  const ok = await withWasmThreads(threads, () => tf.setBackend('wasm'));
  if (!ok) throw new Error('the wasm backend failed to initialise');
  // A full heap becomes a WasmHeapError naming the allocation, not a later "memory access out of bounds".
  guardWasmHeap((tf.backend() as unknown as { wasm: MallocModule }).wasm);
}

/**
 * Initialise the requested backend and register our kernels for it.
 * `auto` tries tensorflow-gpu, then tensorflow, then wasm, and records why it skipped each.
 */
export async function initBackend(choice: BackendChoice = 'auto', opts: BackendOptions = {}): Promise<BackendInfo> {
  const wantThreads = opts.threads ?? defaultThreads();
  if (!isBackendChoice(choice)) {
    throw new Error(`unknown backend "${choice}": choose one of ${BACKEND_NAMES.join(', ')}`);
  }
  const skipped: string[] = [];
  let name: BackendName;
  let nodePackage: string | undefined;
  if (choice === 'auto' || choice === 'tensorflow-gpu' || choice === 'tensorflow') {
    const candidates: Array<[BackendName, '@tensorflow/tfjs-node-gpu' | '@tensorflow/tfjs-node']> =
      choice === 'auto'
        ? [['tensorflow-gpu', '@tensorflow/tfjs-node-gpu'], ['tensorflow', '@tensorflow/tfjs-node']]
        : choice === 'tensorflow-gpu'
          ? [['tensorflow-gpu', '@tensorflow/tfjs-node-gpu']]
          : [['tensorflow', '@tensorflow/tfjs-node']];
    let found: [BackendName, string] | undefined;
    for (const [n, pkg] of candidates) {
      const why = await tryNode(pkg);
      if (why === undefined && (await tf.setBackend('tensorflow'))) {
        found = [n, pkg];
        break;
      }
      skipped.push(why ?? `${pkg}: setBackend('tensorflow') failed`);
    }
    if (found) {
      [name, nodePackage] = found;
    } else if (choice !== 'auto') {
      throw new Error(
        `backend ${choice} is not available (${skipped.join('; ')}). Install it with ` +
          `\`npm install ${candidates[0][1]}@4.22.0\` (needs network access to download libtensorflow), ` +
          'or use --backend wasm.',
      );
    } else {
      await initWasm(wantThreads);
      name = 'wasm';
    }
  } else if (choice === 'wasm') {
    await initWasm(wantThreads);
    name = 'wasm';
  } else {
    if (!(await tf.setBackend('cpu'))) throw new Error('the cpu backend failed to initialise');
    name = 'cpu';
  }
  await tf.ready();
  registerKernels(tf.getBackend());
  // auto never stops on a fallback: it books CPU time and says why.
  const gpu = name === 'tensorflow-gpu'
    ? await verifyGpu(opts.gpuEnvironment ?? nodeGpuEnvironment(), choice === 'auto' || Boolean(opts.allowCpuFallback))
    : undefined;
  if (gpu?.reason) skipped.push(`GPU: ${gpu.reason}; booked as CPU time`);
  const simd = name === 'wasm' ? Boolean(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')) : false;
  const threads = name === 'wasm' ? getThreadsCount() : name === 'cpu' ? 1 : os.cpus().length;
  return {
    name,
    tfjsBackend: tf.getBackend(),
    threads,
    simd,
    tfjsVersion: tf.version_core,
    nodePackage,
    skipped,
    device: gpu?.onGpu ? 'gpu' : 'cpu',
    ...(gpu ? { gpu } : {}),
  };
}

export function describeBackend(info: BackendInfo): string {
  const parts = [`backend ${info.name}`, `${info.threads} thread${info.threads === 1 ? '' : 's'}`];
  if (info.name === 'wasm') parts.push(info.simd ? 'SIMD' : 'no SIMD');
  if (info.skipped.length) parts.push(`skipped: ${info.skipped.join('; ')}`);
  return parts.join(', ');
}
