// The wasm heap is at most 4 GiB (tfjs-backend-wasm's emscripten build: 4294901760 bytes). When it is full,
// emscripten's malloc returns 0 and tfjs-backend-wasm uses offset 0 anyway; a request of 4 GiB or more is passed to
// malloc as a wrapped 32-bit size and "succeeds" with a small buffer. Either way the symptom is a later
// "memory access out of bounds" or silently overwritten memory. guardWasmHeap makes both a WasmHeapError at the
// allocation, naming the size, the heap and what to do.

/** tfjs-backend-wasm's heap limit (emscripten getHeapMax()). */
export const WASM_HEAP_MAX_BYTES = 4294901760;

const MiB = 1 << 20;

export class WasmHeapError extends Error {
  override name = 'WasmHeapError';
  constructor(
    readonly requestedBytes: number,
    readonly heapBytes: number,
  ) {
    super(
      `wasm heap exhausted: cannot allocate ${(requestedBytes / MiB).toFixed(1)} MiB ` +
        `(heap ${(heapBytes / MiB).toFixed(0)} MiB of its ${(WASM_HEAP_MAX_BYTES / MiB).toFixed(0)} MiB limit). ` +
        'Use a smaller batch, channels or cell count, split batches with --micro-batch (search config microBatch), ' +
        'or run on @tensorflow/tfjs-node(-gpu).',
    );
  }
}

/** The part of the emscripten module we wrap. */
export interface MallocModule {
  _malloc(bytes: number): number;
  HEAPU8: { length: number };
}

const guarded = new WeakSet<object>();

/** Wrap the module's _malloc (once) so that failed or oversized allocations throw WasmHeapError. */
export function guardWasmHeap(mod: MallocModule): void {
  if (guarded.has(mod)) return;
  guarded.add(mod);
  let malloc = mod._malloc;
  const wrapper = (bytes: number): number => {
    if (bytes >= WASM_HEAP_MAX_BYTES) throw new WasmHeapError(bytes, mod.HEAPU8.length);
    const before = mod._malloc;
    const ptr = malloc.call(mod, bytes);
    // emscripten's lazy stub replaces Module._malloc with the raw export on its first call: wrap that instead.
    // (Only a change made by this very call counts: whoever wrapped the wrapper since is left alone.)
    if (mod._malloc !== before) {
      malloc = mod._malloc;
      mod._malloc = wrapper;
    }
    if (ptr === 0 && bytes > 0) throw new WasmHeapError(bytes, mod.HEAPU8.length);
    return ptr;
  };
  mod._malloc = wrapper;
}
