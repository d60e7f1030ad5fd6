// Finite-difference gradient checker for tfjs functions (reusable by any test).
//
//   const r = gradCheck((x, w) => myOp(x, w), [x, w], { eps: 1e-2 });
//   assertGradOk(r);                  // or: expect(r.ok, r.message).to.equal(true)
//
// f maps several tensors to ONE tensor of any shape. The checked scalar is L = Σ_i c_i·f(...)_i with fixed
// pseudo-random coefficients c (so every output element matters and no tfjs Sum/Mul gradient is needed):
// the analytic gradients are tf.grads(f)(inputs, dy = c), the numeric ones are central differences of L.
// L is contracted in float64 from the float32 outputs, and each difference divides by the perturbation that was
// actually applied (fround(x ± eps) − x), so the only float32 error left is the rounding of f's outputs.
// Entry j of input i passes when |analytic − numeric| ≤ atol + rtol·max(|analytic|, |numeric|).
//
// Choosing eps: ops that are piecewise linear in the checked input (conv, pool, subsample, matMul) have exact
// central differences away from kinks, so a large eps (1e-2..1e-1) just lowers rounding noise; keep inputs of max
// pools and ReLUs at least 2·eps away from ties / zero. Smooth nonlinear ops (batch norm, softmax) want ~1e-3..5e-3.
import * as tf from '@tensorflow/tfjs-core';

export interface GradCheckOptions {
  /** Perturbation added to and subtracted from one entry (default 1e-2). */
  eps?: number;
  /** Relative tolerance (default 1e-2). */
  rtol?: number;
  /** Absolute tolerance (default 1e-3). */
  atol?: number;
  /** Indices of the inputs to check (default all). Others are held constant and not differentiated. */
  wrt?: number[];
  /** Check at most this many entries per input: the first, the last, and a seeded random sample (default all). */
  maxEntries?: number;
  /** Seed for the output coefficients and the entry sample (default 1). */
  seed?: number;
}

export interface GradMismatch {
  input: number;
  index: number;
  analytic: number;
  numeric: number;
  /** |analytic − numeric| / tolerance: > 1 means failed. */
  ratio: number;
}

export interface GradCheckResult {
  ok: boolean;
  /** Entries checked per input (same order as wrt). */
  checked: number[];
  /** The worst entry (largest error / tolerance), failed or not. */
  worst?: GradMismatch;
  /** Every failing entry (at most 20 kept). */
  failures: GradMismatch[];
  failureCount: number;
  /** Human-readable summary for assertion messages. */
  message: string;
}

/** mulberry32: small deterministic PRNG in [0, 1). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function pickEntries(n: number, max: number | undefined, rand: () => number): number[] {
  if (max === undefined || n <= max) return Array.from({ length: n }, (_, i) => i);
  const set = new Set<number>([0, n - 1]);
  while (set.size < max) set.add(Math.floor(rand() * n));
  return [...set].sort((a, b) => a - b);
}

/** Compare analytic gradients of `f` at `inputs` with central finite differences. Does not dispose the inputs. */
export function gradCheck(f: (...xs: tf.Tensor[]) => tf.Tensor, inputs: tf.Tensor[], opts: GradCheckOptions = {}): GradCheckResult {
  const eps = opts.eps ?? 1e-2;
  const rtol = opts.rtol ?? 1e-2;
  const atol = opts.atol ?? 1e-3;
  const wrt = opts.wrt ?? inputs.map((_, i) => i);
  const rand = prng(opts.seed ?? 1);

  const base = inputs.map((t) => Float32Array.from(t.dataSync()));
  const outShape = tf.tidy(() => f(...inputs).shape);
  const outSize = outShape.reduce((a, b) => a * b, 1);
  // coefficients exactly representable in float32, so dy and the float64 contraction use the same numbers
  const coef = Float64Array.from({ length: outSize }, () => Math.fround(2 * rand() - 1));

  const gradTensors = tf.tidy(() => {
    const g = tf.grads((...ws: tf.Tensor[]) => {
      const all = inputs.slice();
      wrt.forEach((k, j) => (all[k] = ws[j]));
      return f(...all);
    });
    const dy = tf.tensor(Float32Array.from(coef), outShape, 'float32');
    return g(wrt.map((k) => inputs[k]), dy);
  });
  const analytic = gradTensors.map((t) => Float64Array.from(t.dataSync()));
  tf.dispose(gradTensors);

  const loss = (k: number, values: Float32Array): number => {
    const y = tf.tidy(() => {
      const all = inputs.slice();
      all[k] = tf.tensor(values, inputs[k].shape, 'float32');
      return f(...all);
    });
    const v = y.dataSync();
    y.dispose();
    let s = 0;
    for (let i = 0; i < v.length; i++) s += coef[i] * v[i];
    return s;
  };

  const failures: GradMismatch[] = [];
  let failureCount = 0;
  let worst: GradMismatch | undefined;
  const checked: number[] = [];
  wrt.forEach((k, j) => {
    const x = base[k];
    const entries = pickEntries(x.length, opts.maxEntries, rand);
    checked.push(entries.length);
    const work = Float32Array.from(x);
    for (const idx of entries) {
      const x0 = x[idx];
      const up = Math.fround(x0 + eps);
      const down = Math.fround(x0 - eps);
      work[idx] = up;
      const lu = loss(k, work);
      work[idx] = down;
      const ld = loss(k, work);
      work[idx] = x0;
      const numeric = (lu - ld) / (up - down);
      const a = analytic[j][idx];
      const ratio = Math.abs(a - numeric) / (atol + rtol * Math.max(Math.abs(a), Math.abs(numeric)));
      const m = { input: k, index: idx, analytic: a, numeric, ratio };
      if (!worst || ratio > worst.ratio) worst = m;
      if (!(ratio <= 1)) {
        failureCount++;
        if (failures.length < 20) failures.push(m);
      }
    }
  });
  const fmt = (m: GradMismatch) =>
    `input ${m.input} [${m.index}]: analytic ${m.analytic.toPrecision(6)} vs numeric ${m.numeric.toPrecision(6)} (error/tol ${m.ratio.toFixed(2)})`;
  const message = failureCount === 0
    ? `gradients match (${checked.join('+')} entries; worst ${worst ? fmt(worst) : 'n/a'})`
    : `${failureCount} gradient entries differ from finite differences (eps ${eps}, rtol ${rtol}, atol ${atol}):\n  ` +
      failures.slice(0, 8).map(fmt).join('\n  ');
  return { ok: failureCount === 0, checked, worst, failures, failureCount, message };
}

/** Throw with a readable message unless the check passed. */
export function assertGradOk(r: GradCheckResult): void {
  if (!r.ok) throw new Error(r.message);
}
