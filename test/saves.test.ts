// Saved tensors of our own ops (lazyGradOp in nas/kernels/runtime.ts) share their buffer without an Identity kernel
// call or tape node. Guards: no Identity runs while our ops save; the gradients are bit-identical to the engine's
// own clone path (setSharedSaves(false)); every buffer is released afterwards (reference counts balanced: no
// leaked tensor or data buffer, and a shared buffer outlives the disposal of the tensor it was saved from).
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import * as K from '../nas/kernels/index.js';
import { setSharedSaves } from '../nas/kernels/runtime.js';
import { Rng } from '../nas/rng.js';
import { TEST_BACKENDS, useBackend } from './helpers/backend.js';

const randn = (shape: number[], seed: number) => tf.tensor(new Rng(seed).normalArray(shape.reduce((a, b) => a * b, 1), 1), shape, 'float32');

// ReLU → depthwise 3×3 → pointwise: three of our ops, each saving its inputs (and ReLU its output); the output
// gradient is given, so no tfjs op with a registered gradient (which saves through the engine's clone) takes part
const net = (x: tf.Tensor, f: tf.Tensor, w: tf.Tensor) =>
  K.conv1x1(K.depthwiseConv2d(K.relu(x) as tf.Tensor4D, f as tf.Tensor4D, 1, 1, 1), w as tf.Tensor2D);

for (const backend of TEST_BACKENDS) {
  describe(`shared saves (${backend})`, function () {
    before(() => useBackend(backend));
    afterEach(() => setSharedSaves(true));

    async function gradsWith(share: boolean): Promise<{ kernels: string[]; grads: Float32Array[] }> {
      setSharedSaves(share);
      const x = randn([2, 6, 6, 8], 1);
      const f = randn([3, 3, 8, 1], 2);
      const w = randn([8, 8], 3);
      const dy = randn([2, 6, 6, 8], 6);
      let grads: Float32Array[] = [];
      const info = await tf.profile(() => {
        const gs = tf.grads(net)([x, f, w], dy);
        grads = gs.map((g) => g.dataSync() as Float32Array);
        tf.dispose(gs);
      });
      tf.dispose([x, f, w, dy]);
      return { kernels: info.kernelNames, grads };
    }

    it('our ops save without Identity calls, and the gradients equal the clone path bit for bit', async () => {
      const shared = await gradsWith(true);
      const cloned = await gradsWith(false);
      assert.ok(cloned.kernels.includes('Identity'), `the engine's clone path runs Identity (${cloned.kernels.join()})`);
      assert.ok(!shared.kernels.includes('Identity'), `no Identity with shared saves (${shared.kernels.join()})`);
      assert.equal(shared.grads.length, 3);
      shared.grads.forEach((g, i) => assert.deepEqual(new Uint32Array(g.buffer), new Uint32Array(cloned.grads[i].buffer), `gradient ${i}`));
    });

    it('releases every shared buffer: no tensor or data buffer left after the backward pass', () => {
      const x = randn([2, 6, 6, 8], 1);
      const f = randn([3, 3, 8, 1], 2);
      const w = randn([8, 8], 3);
      const dy = randn([2, 6, 6, 8], 6);
      const before = { tensors: tf.memory().numTensors, buffers: tf.engine().backend.numDataIds() };
      const gs = tf.grads(net)([x, f, w], dy);
      tf.dispose(gs);
      assert.equal(tf.memory().numTensors, before.tensors, 'tensors');
      assert.equal(tf.engine().backend.numDataIds(), before.buffers, 'data buffers');
      tf.dispose([x, f, w, dy]);
    });

    it('a saved buffer outlives the tensor it came from until the backward pass is done', () => {
      const x = randn([2, 6, 6, 8], 4);
      const f = randn([3, 3, 8, 1], 5);
      const want = tf.grads((a: tf.Tensor, b: tf.Tensor) => K.depthwiseConv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, 1, 1).sum())([x, f]);
      const wantF = want[1].dataSync().slice();
      tf.dispose(want);
      // x is disposed inside the function after the op saved it: the backward pass must still read its values
      const { grads } = tf.variableGrads(() => {
        const xv = x.clone();
        const y = K.depthwiseConv2d(xv as tf.Tensor4D, fv as tf.Tensor4D, 1, 1, 1).sum() as tf.Scalar;
        xv.dispose();
        return y;
      }, [fv]);
      assert.deepEqual(Array.from(grads[fv.name].dataSync()), Array.from(wantF));
      tf.dispose([x, f, grads[fv.name]]);
    });
    let fv: tf.Variable;
    before(() => { fv = tf.variable(randn([3, 3, 8, 1], 5)); });
    after(() => fv.dispose());
  });
}
