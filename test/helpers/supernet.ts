// One tiny super-net evaluation (batch 2, C=4, 3 cells, 8×8) on the active backend and kernel path: the loss and
// the gradients of every weight and α that gets one. Shared by the cross-backend and cross-path agreement tests.
import * as tf from '@tensorflow/tfjs-core';
import { merge } from '../../nas/config.js';
import { createSearch, defaultSearchConfig, type MethodName } from '../../methods/registry.js';
import { Rng } from '../../nas/rng.js';

export interface StepNumbers { loss: number; grads: Map<string, Float32Array> }

export function supernetStep(method: MethodName, purpose: 'weights' | 'arch' = 'weights'): StepNumbers {
  const cfg = merge(defaultSearchConfig(method, 7), { layers: 3, channels: 4, batchSize: 2 });
  const m = createSearch(cfg, { numClasses: 10, imageShape: [8, 8, 3] });
  const rng = new Rng(99);
  const x = tf.tensor4d(rng.normalArray(2 * 8 * 8 * 3), [2, 8, 8, 3]);
  const y = tf.tensor1d([3, 7], 'int32');
  const entries = [...m.store.list('weight'), ...m.store.list('arch')];
  const r = tf.variableGrads(() => m.forwardLoss({ x, y }, m.modesFor(purpose)), entries.map((e) => e.variable));
  const out: StepNumbers = { loss: r.value.dataSync()[0], grads: new Map() };
  for (const e of entries) {
    const g = r.grads[e.variable.name];
    if (g) out.grads.set(e.path, g.dataSync() as Float32Array);
  }
  tf.dispose([r.value, ...Object.values(r.grads), x, y]);
  m.dispose();
  return out;
}

/** The worst |a − b| over all gradients, relative to each tensor's largest |a| (at least 1e-3). */
export function worstGradDifference(a: StepNumbers, b: StepNumbers): { worst: number; name: string } {
  let worst = 0;
  let name = '';
  for (const [n, ga] of a.grads) {
    const gb = b.grads.get(n)!;
    const scale = Math.max(1e-3, ...Array.from(ga, Math.abs));
    for (let i = 0; i < ga.length; i++) {
      const rel = Math.abs(ga[i] - gb[i]) / scale;
      if (rel > worst) {
        worst = rel;
        name = n;
      }
    }
  }
  return { worst, name };
}
