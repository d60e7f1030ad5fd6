import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs-core';
import { guardWasmHeap, WASM_HEAP_MAX_BYTES, WasmHeapError, type MallocModule } from '../nas/kernels/heap.js';
import { useBackend } from './helpers/backend.js';

/** An emscripten-like module: a lazy _malloc stub that replaces itself with the raw export on its first call. */
function fakeModule(results: number[]): MallocModule & { calls: number[] } {
  const calls: number[] = [];
  const raw = (bytes: number): number => {
    calls.push(bytes);
    return results.shift() ?? 64;
  };
  const mod = {
    calls,
    HEAPU8: { length: 256 << 20 },
    _malloc(bytes: number): number {
      mod._malloc = raw;
      return raw(bytes);
    },
  };
  return mod;
}

describe('wasm heap guard', () => {
  it('turns a failed malloc (0) into a WasmHeapError naming the size and the heap, also after the stub replaced itself', () => {
    const mod = fakeModule([16, 0, 32, 0]);
    guardWasmHeap(mod);
    assert.equal(mod._malloc(100), 16);
    assert.throws(() => mod._malloc(3 << 20), (e: unknown) =>
      e instanceof WasmHeapError && /cannot allocate 3\.0 MiB \(heap 256 MiB of its 4096 MiB limit\)/.test(e.message) &&
      /--micro-batch/.test(e.message));
    assert.equal(mod._malloc(8), 32);
    assert.throws(() => mod._malloc(8), WasmHeapError);
    assert.deepEqual(mod.calls, [100, 3 << 20, 8, 8]);
  });

  it('leaves alone a function that wraps the guard later (no re-capture, no recursion)', () => {
    const mod = fakeModule([16, 24, 32, 0]);
    guardWasmHeap(mod);
    assert.equal(mod._malloc(4), 16); // the stub replaces itself; the guard wraps the raw export
    const guard = mod._malloc;
    let outer = 0;
    const wrapping = (bytes: number): number => {
      outer++;
      return guard(bytes);
    };
    mod._malloc = wrapping; // e.g. a test planting a failure
    assert.equal(mod._malloc(4), 24);
    assert.equal(mod._malloc(4), 32);
    assert.equal(outer, 2);
    assert.equal(mod._malloc, wrapping, 'the guard did not take Module._malloc back');
    mod._malloc = guard;
    assert.throws(() => mod._malloc(4), WasmHeapError, 'the guard still guards (the raw export returns 0 now)');
    assert.deepEqual(mod.calls, [4, 4, 4, 4]);
  });

  it('lets a zero-byte malloc return 0 and refuses a request of the whole limit before calling malloc', () => {
    const mod = fakeModule([0]);
    guardWasmHeap(mod);
    guardWasmHeap(mod); // idempotent: wrapped once
    assert.equal(mod._malloc(0), 0);
    assert.throws(() => mod._malloc(WASM_HEAP_MAX_BYTES), WasmHeapError);
    assert.deepEqual(mod.calls, [0]);
  });

  it('on the wasm backend, a tensor larger than the heap limit fails at allocation with the heap error', async () => {
    await useBackend('wasm');
    const before = tf.memory().numTensors;
    // 1.1e9 float32 = 4.4e9 bytes: unguarded, the wrapped 32-bit size would "succeed" with a ~105 MB buffer.
    assert.throws(() => tf.zeros([1.1e9]), WasmHeapError);
    assert.equal(tf.memory().numTensors, before);
    const t = tf.tensor1d([1, 2, 3]);
    assert.deepEqual(Array.from(t.dataSync()), [1, 2, 3]);
    t.dispose();
  });
});
