// Every candidate op (search and evaluation forms), at stride 1 and 2, on wasm and cpu: gradients with respect to
// the input and to every weight against central finite differences.
// The ops are piecewise smooth (ReLU after batch norm): a step that straddles a ReLU kink spoils one difference, so
// each entry is checked at several step sizes and must match at one of them; a wrong gradient matches at none
// (measured on a kink-dense sep_conv_5x5 filter entry: the difference is −13.5 at eps 1e-2, −9.9 at 1e-3,
// −11.80 at 3e-5 against the analytic −11.85).
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { buildOp } from '../nas/ops.js';
import { DARTS_OPS } from '../nas/config.js';
import { ParamStore } from '../nas/params.js';
import { Rng } from '../nas/rng.js';
import { gradCheck, assertGradOk } from './helpers/gradcheck.js';
import { useBackend } from './helpers/backend.js';

/** Fixed contraction weights so that every output element matters. */
function coeffs(shape: number[], seed: number): tf.Tensor {
  return tf.tensor(new Rng(seed).uniformArray(shape.reduce((a, b) => a * b, 1), -1, 1), shape);
}

/** L = Σ c·f in float64 from float32 outputs. */
function contract(y: tf.Tensor, c: Float32Array): number {
  const v = y.dataSync();
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i] * c[i];
  return s;
}

for (const backend of ['wasm', 'cpu'] as const) {
  describe(`candidate ops on ${backend}: gradients = finite differences`, function () {
    before(() => useBackend(backend));
    for (const name of DARTS_OPS.filter((o) => o !== 'none')) {
      for (const stride of [1, 2]) {
        for (const search of [true, false]) {
          it(`${name} stride ${stride} (${search ? 'search' : 'eval'} form)`, () => {
            const store = new ParamStore(new Rng(3));
            const op = buildOp(name, { store, path: 'op', channels: 4, stride, search });
            const ctx = { training: true };
            const x = tf.tensor4d(new Rng(7).normalArray(2 * 8 * 8 * 4), [2, 8, 8, 4]);
            // Input gradient (the op's whole chain: ReLU, depthwise, pointwise, BN, pools, FactorizedReduce paths).
            // (× 1 so that the identity op is a differentiable function of its input too)
            const check = (eps: number) => gradCheck((xx) => tf.mul(op.apply(xx as tf.Tensor4D, ctx)!, 1), [x], { eps, rtol: 3e-2, atol: 3e-3, maxEntries: 24 });
            const results = [];
            for (const eps of [2e-3, 5e-4, 1e-4]) {
              results.push(check(eps));
              if (results[results.length - 1].ok) break;
            }
            assertGradOk(results[results.length - 1]);
            // Weight gradients: perturb variable entries directly.
            const y0 = tf.tidy(() => op.apply(x, ctx)!);
            const c = coeffs(y0.shape, 11);
            const cData = c.dataSync() as Float32Array;
            const weights = store.list('weight');
            const parametric = name.includes('conv') || (name === 'skip_connect' && stride === 2);
            assert.equal(weights.length > 0, parametric, 'weights exactly where the op is parametric');
            if (!parametric) {
              tf.dispose([x, y0, c]);
              store.dispose();
              return;
            }
            const { value, grads } = tf.variableGrads(() => tf.sum(tf.mul(op.apply(x, ctx)!, c)) as tf.Scalar, weights.map((e) => e.variable));
            value.dispose();
            let checked = 0;
            for (const e of weights) {
              const g = grads[e.variable.name];
              assert.ok(g, `${e.path} gets a gradient`);
              const ga = g.dataSync();
              const base = e.variable.dataSync().slice();
              const n = base.length;
              for (const idx of [0, Math.floor(n / 2), n - 1]) {
                const at = (d: number) => {
                  const w = base.slice();
                  w[idx] = Math.fround(base[idx] + d);
                  tf.tidy(() => e.variable.assign(tf.tensor(w, e.variable.shape)));
                  return { L: tf.tidy(() => contract(op.apply(x, ctx)!, cData)), applied: w[idx] - base[idx] };
                };
                const numerics = [2e-3, 5e-4, 1e-4, 3e-5].map((eps) => {
                  const p = at(eps);
                  const m = at(-eps);
                  return (p.L - m.L) / (p.applied - m.applied);
                });
                tf.tidy(() => e.variable.assign(tf.tensor(base, e.variable.shape)));
                const close = (numeric: number) => Math.abs(numeric - ga[idx]) <= 3e-3 + 3e-2 * Math.max(Math.abs(numeric), Math.abs(ga[idx]));
                assert.ok(numerics.some(close), `${e.path}[${idx}]: analytic ${ga[idx]} vs numeric ${numerics.join(' / ')}`);
                checked++;
              }
            }
            assert.equal(checked, 3 * weights.length);
            tf.dispose([x, y0, c, ...Object.values(grads)]);
            store.dispose();
          });
        }
      }
    }
  });
}
