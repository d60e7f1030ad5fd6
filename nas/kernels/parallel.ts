// Our SIMD kernels on more than one core: worker threads that instantiate the same kernel module on the SAME shared
// WebAssembly.Memory as the tfjs-backend-wasm threaded build (nas/kernels/threads.ts), so a kernel call can be split
// into parts that run at once on disjoint outputs. Each part is the same loop on a sub-range (batch rows, channel
// vectors, byte ranges) and every output element is computed by the same instruction sequence as in one call, so
// results do not depend on the thread count (simd.ts chooses the splits; test/threads.test.ts checks it).
//
// Hand-off: one Int32Array on a SharedArrayBuffer per worker: [seq, done, fn, error, args...]. The main thread
// writes the arguments, bumps seq and wakes the worker (Atomics.notify); it runs part 0 itself and then waits for
// done === seq. A worker spins for HELPER_SPIN_MS after each job and then sleeps in Atomics.wait. The spin is long
// (milliseconds, not microseconds) because a sleeping helper is slow to wake on a virtual machine: its vCPU halts and
// the wake-up goes through the hypervisor. Measured on the 2-core VM (entrannas step, --threads 2, 8,493 split calls
// in 12 steps): with the old 20,000-load spin (≈ 0.13 ms) the helper began its part 115 µs after the hand-off on
// average, 214 calls over 1 ms; with ≈ 13 ms, 46 µs (bench/README.md, "Third round"). Workers are unref'd: they never
// keep the process alive.
import { Worker } from 'node:worker_threads';

const SEQ = 0;
const DONE = 1;
const FN = 2;
const ERR = 3;
const ARGS = 4;
const MAX_ARGS = 20;
/** How long a worker spins for its next job before it sleeps, ms ($NAS_HELPER_SPIN_MS; 0 = sleep at once). */
export const HELPER_SPIN_MS = helperSpinMs(process.env.NAS_HELPER_SPIN_MS);

export function helperSpinMs(env: string | undefined): number {
  if (env === undefined || env === '') return 10;
  const n = Number(env);
  if (!Number.isFinite(n) || n < 0) throw new Error(`NAS_HELPER_SPIN_MS must be a non-negative number of milliseconds, got ${JSON.stringify(env)}`);
  return n;
}
/** How long the main thread waits for a part before it declares the worker dead. */
const PART_TIMEOUT_MS = 120_000;

// The worker: plain CommonJS (eval'd), no imports from this package.
const WORKER_SOURCE = `
const { workerData } = require('node:worker_threads');
const { module, memory, ctrl, names, spinMs } = workerData;
const c = new Int32Array(ctrl);
const inst = new WebAssembly.Instance(module, { env: { mem: memory } });
const fns = names.map((n) => inst.exports[n]);
let last = 0;
for (;;) {
  let s = Atomics.load(c, ${SEQ});
  // spin (reading the clock every 1024 loads) for spinMs, then sleep
  if (s === last && spinMs > 0) {
    const until = performance.now() + spinMs;
    for (let i = 1; s === last; i++) {
      s = Atomics.load(c, ${SEQ});
      if ((i & 1023) === 0 && performance.now() > until) break;
    }
  }
  while (s === last) { Atomics.wait(c, ${SEQ}, last); s = Atomics.load(c, ${SEQ}); }
  last = s;
  if (s < 0) break;
  try {
    const n = c[${FN}] >>> 8;
    const a = Array.from(c.subarray(${ARGS}, ${ARGS} + n));
    fns[c[${FN}] & 255](...a);
    c[${ERR}] = 0;
  } catch (e) {
    c[${ERR}] = 1;
  }
  Atomics.store(c, ${DONE}, s);
  Atomics.notify(c, ${DONE});
}
`;

interface Helper {
  worker: Worker;
  ctrl: Int32Array;
  seq: number;
}

/** A pool of helper threads for one kernel module on one shared memory. threads = helpers + the main thread. */
export class KernelPool {
  private readonly helpers: Helper[] = [];
  private readonly index = new Map<string, number>();
  constructor(
    readonly threads: number,
    module: WebAssembly.Module,
    memory: WebAssembly.Memory,
    readonly names: string[],
  ) {
    names.forEach((n, i) => this.index.set(n, i));
    for (let t = 1; t < threads; t++) {
      const ctrl = new SharedArrayBuffer(4 * (ARGS + MAX_ARGS));
      const worker = new Worker(WORKER_SOURCE, {
        eval: true,
        workerData: { module, memory, ctrl, names, spinMs: HELPER_SPIN_MS },
      });
      worker.unref();
      this.helpers.push({ worker, ctrl: new Int32Array(ctrl), seq: 0 });
    }
  }

  /**
   * Run `parts` (argument lists of the export `name`, at most `threads` of them) at once: part 0 on this thread
   * via `local`, the others on helpers. Returns when all are done.
   */
  run(name: string, parts: number[][], local: (...args: number[]) => void): void {
    const fn = this.index.get(name);
    if (fn === undefined) throw new Error(`nas kernels: no parallel kernel ${name}`);
    if (parts.length > this.threads) throw new Error(`nas kernels: ${parts.length} parts for ${this.threads} threads`);
    const used = this.helpers.slice(0, parts.length - 1);
    splitCalls++;
    used.forEach((h, i) => {
      const args = parts[i + 1];
      if (args.length > MAX_ARGS) throw new Error(`nas kernels: ${name} has more than ${MAX_ARGS} arguments`);
      h.ctrl.set(args, ARGS);
      h.ctrl[FN] = (args.length << 8) | fn;
      h.seq = (h.seq + 1) & 0x3fffffff || 1;
      Atomics.store(h.ctrl, SEQ, h.seq);
      Atomics.notify(h.ctrl, SEQ);
    });
    let failure: unknown;
    try {
      local(...parts[0]);
    } catch (err) {
      failure = err;
    }
    for (const h of used) {
      // the helper's part is about as long as ours: spin first, then sleep
      let spins = 0;
      while (Atomics.load(h.ctrl, DONE) !== h.seq && spins < 200000) spins++;
      const start = Date.now();
      while (Atomics.load(h.ctrl, DONE) !== h.seq) {
        Atomics.wait(h.ctrl, DONE, Atomics.load(h.ctrl, DONE), 1000);
        if (Date.now() - start > PART_TIMEOUT_MS) {
          throw new Error(`nas kernels: a kernel thread did not finish ${name} within ${PART_TIMEOUT_MS / 1000} s`);
        }
      }
      if (h.ctrl[ERR] !== 0) failure ??= new Error(`nas kernels: ${name} failed on a kernel thread (trap in wasm)`);
    }
    if (failure) throw failure;
  }
}

/** Split [0, n) into at most `parts` contiguous ranges whose bounds are multiples of `align` (the last takes the rest). */
export function splitRange(n: number, parts: number, align = 1): Array<[number, number]> {
  const units = Math.floor(n / align);
  const p = Math.max(1, Math.min(parts, units));
  const out: Array<[number, number]> = [];
  for (let i = 0; i < p; i++) {
    const lo = Math.round((units * i) / p) * align;
    const hi = i === p - 1 ? n : Math.round((units * (i + 1)) / p) * align;
    if (hi > lo) out.push([lo, hi]);
  }
  return out;
}

let splitCalls = 0;
/** Kernel calls split over threads so far in this process (tests check that splitting really happened). */
export function splitCallCount(): number {
  return splitCalls;
}

let configured = 1;
/** Threads our kernels may use (the main thread included); set by initBackend before the wasm backend starts. */
export function setKernelThreads(n: number): void {
  if (!Number.isInteger(n) || n < 1) throw new Error(`kernel threads must be a positive integer, got ${n}`);
  configured = n;
}
export function kernelThreads(): number {
  return configured;
}
