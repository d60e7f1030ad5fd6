// Output sizes and padding with PyTorch semantics (explicit integer pads, floor rounding).

/** PyTorch: floor((in + padBefore + padAfter − dilation·(k−1) − 1) / stride) + 1. */
export function outSize(inSize: number, k: number, stride: number, padBefore: number, padAfter: number, dilation = 1): number {
  const o = Math.floor((inSize + padBefore + padAfter - dilation * (k - 1) - 1) / stride) + 1;
  if (o < 1) throw new Error(`nas kernels: empty output (in ${inSize}, k ${k}, stride ${stride}, pad ${padBefore}/${padAfter}, dilation ${dilation})`);
  return o;
}

/** [lo, hi): the output positions o whose tap i = o·stride + off lies in [0, inSize). */
export function validRange(off: number, stride: number, inSize: number, outLen: number): [number, number] {
  const lo = off >= 0 ? 0 : Math.ceil(-off / stride);
  const hi = off >= inSize ? 0 : Math.min(outLen, Math.floor((inSize - 1 - off) / stride) + 1);
  return [lo, Math.max(lo, hi)];
}

export type Pads4 = [[number, number], [number, number], [number, number], [number, number]];
export const nhwcPads = (pt: number, pb: number, pl: number, pr: number): Pads4 => [[0, 0], [pt, pb], [pl, pr], [0, 0]];

export function checkInt(name: string, v: number, min: number): void {
  if (!Number.isInteger(v) || v < min) throw new Error(`nas kernels: ${name} must be an integer >= ${min}, got ${v}`);
}
