// tf.variableGrads with PyTorch-like memory behaviour. tfjs' own backward pass (engine.gradients) keeps every
// intermediate gradient and every tensor saved for backward alive until the whole backward pass ends, so its peak
// is about saved activations + all their gradients. Here the same tape is walked in the same order with the same
// gradient functions, but each node's output gradients and saved tensors are released as soon as the node has
// been processed (every consumer of a tensor comes later on the tape, so its gradient is complete and used once),
// and the zero dys of unused outputs and partial sums die with their node. Results are identical.
// Relies on tfjs-core 4.x engine internals (startTape/endTape, state.activeTape, tape nodes' gradient/saved).
import * as tf from '@tensorflow/tfjs-core';

interface TapeNode {
  id: number;
  kernelName: string;
  inputs: Record<string, tf.Tensor>;
  outputs: tf.Tensor[];
  saved?: tf.Tensor[];
  gradient?: (dys: Array<tf.Tensor | null>) => Record<string, () => tf.Tensor>;
}

interface EngineInternals {
  state: { activeTape: TapeNode[] | null; gradientDepth: number };
  scopedRun<R>(start: () => void, end: () => void, f: () => R): R;
  startTape(): void;
  endTape(): void;
  tidy<T extends tf.TensorContainer>(name: string, f: () => T): T;
}

/** The nodes on a path from xs to y, inputs pruned to those that depend on xs (tfjs' getFilteredNodesXToY). */
function filterTape(tape: TapeNode[], xs: tf.Tensor[], y: tf.Tensor): TapeNode[] {
  const fromX = new Set<number>(xs.map((x) => x.id));
  const nodesFromX = new Set<number>();
  for (const node of tape) {
    for (const name in node.inputs) {
      if (fromX.has(node.inputs[name].id)) {
        for (const o of node.outputs) fromX.add(o.id);
        nodesFromX.add(node.id);
        break;
      }
    }
  }
  const leadToY = new Set<number>([y.id]);
  const nodesToY = new Set<number>();
  for (let i = tape.length - 1; i >= 0; i--) {
    const node = tape[i];
    if (node.outputs.some((o) => leadToY.has(o.id))) {
      for (const name in node.inputs) {
        leadToY.add(node.inputs[name].id);
        nodesToY.add(node.id);
      }
    }
  }
  const out: TapeNode[] = [];
  for (const node of tape) {
    if (!nodesFromX.has(node.id) || !nodesToY.has(node.id)) continue;
    const inputs: Record<string, tf.Tensor> = {};
    for (const name in node.inputs) if (fromX.has(node.inputs[name].id)) inputs[name] = node.inputs[name];
    out.push({ ...node, inputs });
  }
  return out;
}

/** Tape nodes recorded by variableGrads since the process started (profiles read the difference over steps). */
export const tapeNodes = { total: 0 };

/**
 * Value of the scalar f() and its gradients w.r.t. `varList`, keyed by variable name (only variables that get a
 * gradient), exactly as tf.variableGrads(f, varList) — with the backward pass releasing memory as it goes.
 */
export function variableGrads(f: () => tf.Scalar, varList: tf.Variable[]): { value: tf.Scalar; grads: tf.NamedTensorMap } {
  const engine = tf.engine() as unknown as EngineInternals;
  if (engine.state.gradientDepth !== 0) return tf.variableGrads(f, varList); // nested: leave it to tfjs
  let tape: TapeNode[] = [];
  try {
    const y = engine.scopedRun(() => engine.startTape(), () => engine.endTape(), () => engine.tidy('forward', f));
    tape = engine.state.activeTape ?? [];
    tapeNodes.total += tape.length;
    if (!(y instanceof tf.Tensor) || y.rank !== 0) {
      throw new Error(`the function passed to variableGrads must return a scalar, got rank ${y instanceof tf.Tensor ? y.rank : typeof y}`);
    }
    const filtered = filterTape(tape, varList, y);
    const grads = tf.tidy('backward', () => {
      const acc = new Map<number, tf.Tensor>([[y.id, tf.onesLike(y)]]);
      for (let i = filtered.length - 1; i >= 0; i--) {
        const node = filtered[i];
        if (!node.gradient) throw new Error(`Cannot compute gradient: gradient function not found for ${node.kernelName}.`);
        const dys = node.outputs.map((o) => acc.get(o.id) ?? null);
        const names = Object.keys(node.inputs);
        const dxs = tf.tidy(() => {
          const thunks = node.gradient!(dys);
          return names.map((name) => {
            if (!(name in thunks)) {
              throw new Error(`Cannot backprop through input ${name}. Available gradients found: ${Object.keys(thunks)}.`);
            }
            const dx = tf.tidy(() => thunks[name]());
            // a gradient function may hand back a tensor it did not create (dy itself): own a reference
            return dys.includes(dx) || node.saved?.includes(dx) ? tf.clone(dx) : dx;
          });
        });
        for (const o of node.outputs) {
          acc.get(o.id)?.dispose();
          acc.delete(o.id);
        }
        node.saved?.forEach((t) => t.dispose());
        names.forEach((name, j) => {
          const x = node.inputs[name];
          const dx = dxs[j];
          if (dx.dtype !== 'float32') {
            throw new Error(`Error in gradient for op ${node.kernelName}. The gradient of input ${name} must have 'float32' dtype, but has '${dx.dtype}'`);
          }
          if (!tf.util.arraysEqual(dx.shape, x.shape)) {
            throw new Error(`Error in gradient for op ${node.kernelName}. The gradient of input '${name}' has shape '${dx.shape}', which does not match the shape of the input '${x.shape}'`);
          }
          const cur = acc.get(x.id);
          if (cur) {
            acc.set(x.id, tf.add(cur, dx));
            cur.dispose();
            dx.dispose();
          } else {
            acc.set(x.id, dx);
          }
        });
      }
      if (!varList.some((v) => acc.has(v.id))) {
        throw new Error('Cannot find a connection between any variable and the result of the loss function y=f(x). ' +
          'Please make sure the operations that use variables are inside the function f passed to minimize().');
      }
      const out: tf.NamedTensorMap = {};
      for (const v of varList) {
        const g = acc.get(v.id);
        if (g) out[v.name] = g;
      }
      return out;
    });
    return { value: y as tf.Scalar, grads };
  } finally {
    if (engine.state.gradientDepth === 0) {
      for (const node of tape) node.saved?.forEach((t) => t.dispose());
      engine.state.activeTape = null;
    }
  }
}
