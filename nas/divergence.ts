// When a training loss means the run has diverged: a non-finite value, or one that explodes past
// DIVERGENCE_FACTOR × the mean loss of the first epoch (a loss of 8e19 is finite, and the run is still lost).

export const DIVERGENCE_FACTOR = 1e4;

/**
 * Why `loss` ends the run, or undefined. `trace` holds the losses of the run so far (this one excluded or
 * included, either works), `stepsPerEpoch` says where the first epoch ends; before it has ended only non-finite
 * values count.
 */
export function divergenceOf(what: string, loss: number, trace: readonly number[], stepsPerEpoch: number,
  epoch: number, step: number): string | undefined {
  if (!Number.isFinite(loss)) return `${what} became ${loss} at epoch ${epoch} step ${step}`;
  if (stepsPerEpoch < 1 || trace.length < stepsPerEpoch || epoch === 0) return undefined;
  const first = trace.slice(0, stepsPerEpoch);
  const mean = first.reduce((s, v) => s + v, 0) / first.length;
  if (mean > 0 && loss > DIVERGENCE_FACTOR * mean) {
    return `${what} ${loss.toExponential(3)} exceeds ${DIVERGENCE_FACTOR.toExponential(0)} × the first epoch's mean ` +
      `(${mean.toPrecision(4)}) at epoch ${epoch} step ${step}`;
  }
  return undefined;
}
