// Start tfjs-backend-wasm's threaded SIMD build in Node. Its memory is a shared WebAssembly.Memory, which is what
// lets our kernels run on helper threads (parallel.ts), and XNNPACK (tfjs' own ops) gets a thread pool too.
// tfjs 4.22 does not do this by itself in Node, for three reasons, each worked around for the duration of
// tf.setBackend('wasm') only:
//  1. WASM_HAS_MULTITHREAD_SUPPORT is hard-wired to false under Node: we set the flag.
//  2. emscripten starts its pthread pool (8 workers) with `new Worker(<blob: URL of the worker script>)`, and Node's
//     worker_threads cannot load blob: URLs. Emscripten assigns worker_threads.Worker to globalThis.Worker just
//     before; a property trap hands it a Worker subclass that runs the same worker script from source (eval), with
//     the factory script it asks for (also sent as a Blob) read from the package's wasm-out/ file.
//  3. The C side caps the pool at emscripten_num_logical_cores() / 2 (it assumes two hyper-threads per core), which
//     is os.cpus().length in Node: 1 on a 2-core machine. os.cpus() reports 2·threads entries while the module starts.
import os from 'node:os';
import { createRequire } from 'node:module';
import { Worker as NodeWorker } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs-core';
import { setThreadsCount } from '@tensorflow/tfjs-backend-wasm';

const require = createRequire(import.meta.url);
/** How long the threaded build may take to start its workers before we give up. */
const START_TIMEOUT_MS = 120_000;

function pthreadBootstrap(): string {
  const workerJs = require.resolve('@tensorflow/tfjs-backend-wasm/wasm-out/tfjs-backend-wasm-threaded-simd.worker.js');
  const factoryJs = require.resolve('@tensorflow/tfjs-backend-wasm/wasm-out/tfjs-backend-wasm-threaded-simd.js');
  // tfjs escapes the script's newlines the same way before it makes its Blob (they sit inside string literals)
  return `
const { wasmWorkerContents } = require(${JSON.stringify(workerJs)});
URL.createObjectURL = () => ${JSON.stringify(factoryJs)};
URL.revokeObjectURL = () => {};
globalThis.require = require;
globalThis.__filename = ${JSON.stringify(factoryJs)};
(0, eval)(wasmWorkerContents.replace(/\\n/g, '\\\\n'));
`;
}

/**
 * Run `start` (which calls tf.setBackend('wasm')) so that the wasm backend comes up as the threaded SIMD build with
 * `threads` threads. threads = 1 leaves everything as it is (the single-threaded SIMD build).
 */
export async function withWasmThreads<T>(threads: number, start: () => Promise<T>): Promise<T> {
  if (threads <= 1) return start();
  const source = pthreadBootstrap();
  class PthreadWorker extends NodeWorker {
    constructor() {
      super(source, { eval: true });
    }
  }
  const hadWorker = Object.getOwnPropertyDescriptor(globalThis, 'Worker');
  Object.defineProperty(globalThis, 'Worker', { configurable: true, get: () => PthreadWorker, set: () => {} });
  const realCpus = os.cpus;
  os.cpus = () => {
    const c = realCpus();
    return Array.from({ length: 2 * threads }, (_, i) => c[i % c.length]);
  };
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', true);
  setThreadsCount(threads);
  let timer: NodeJS.Timeout | undefined;
  try {
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(
        `the threaded wasm backend did not start within ${START_TIMEOUT_MS / 1000} s (its worker threads never ` +
          'reported in); run with --threads 1')), START_TIMEOUT_MS);
    });
    const result = await Promise.race([start(), timeout]);
    // emscripten ref()s a worker while it runs a pthread, and XNNPACK's pool threads run for the process lifetime:
    // unref them so that they do not keep a finished command alive
    const mod = (tf.findBackend('wasm') as unknown as { wasm?: { PThread?: { runningWorkers?: NodeWorker[] } } } | undefined)?.wasm;
    for (const w of mod?.PThread?.runningWorkers ?? []) w.unref();
    return result;
  } finally {
    clearTimeout(timer);
    os.cpus = realCpus;
    if (hadWorker) Object.defineProperty(globalThis, 'Worker', hadWorker);
    else delete (globalThis as { Worker?: unknown }).Worker;
  }
}
