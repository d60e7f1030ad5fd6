// wasm SIMD kernels (hand-assembled, see wasm-asm.ts) that run in place on the tfjs-backend-wasm heap.
// All pointers are byte offsets into the backend's memory; tensors are NHWC float32 with C % 4 === 0.
// One module instance per WebAssembly.Memory (one per wasm backend), built on first use.
import { Fn, I32, V128, assemble } from './wasm-asm.js';
import type { WasmBackendLike } from './memory.js';

export interface SimdKernels {
  /**
   * Depthwise backprop. mode 'filter': dw[kh,kw,c] += Σ x[n,ih,iw,c]·dy[n,oh,ow,c] (dw must be zeroed).
   * mode 'input': dx[n,ih,iw,c] += Σ f[kh,kw,c]·dy[n,oh,ow,c] (dx must be zeroed).
   * ih = oh·s + kh·d − pt, iw = ow·s + kw·d − pl; out-of-range taps are padding.
   */
  dwFilter(x: number, dy: number, dw: number, ...geom: DwGeom): void;
  dwInput(dx: number, dy: number, f: number, ...geom: DwGeom): void;
  /** Depthwise forward: y[n,oh,ow,c] += Σ f[kh,kw,c]·x[n,ih,iw,c] (y must be zeroed). Same geometry as above. */
  dwForward(x: number, y: number, f: number, ...geom: DwGeom): void;
  /** dx[first argmax of each window] += dy (dx must be zeroed). Geometry: N,H,W,C,Ho,Wo,KH,KW,stride,padTop,padLeft. */
  maxPoolGrad(x: number, dy: number, dx: number, ...geom: PoolGeom): void;
  /** dx[window] += dy / (in-bounds count) (dx must be zeroed). */
  avgPoolGrad(dy: number, dx: number, ...geom: PoolGeom): void;
  /** Batch-norm statistics: sum[c] += Σ (x − shift[c]), sumsq[c] += Σ (x − shift[c])² over `rows` rows of C. */
  bnStats(x: number, rows: number, C: number, shift: number, sum: number, sumsq: number): void;
  /** y = x·a[c] + b[c]. */
  affine(x: number, y: number, rows: number, C: number, a: number, b: number): void;
  /** sdy[c] += Σ dy, sdyx[c] += Σ dy·(x − mean[c]). */
  bnGradStats(x: number, dy: number, rows: number, C: number, mean: number, sdy: number, sdyx: number): void;
  /** dx = dy·a[c] + (x − mean[c])·b[c] + k[c]. */
  bnGradApply(x: number, dy: number, dx: number, rows: number, C: number, mean: number, a: number, b: number, k: number): void;
}
/** N, H, W, C, Ho, Wo, KH, KW, stride, dilation, padTop, padLeft */
export type DwGeom = [number, number, number, number, number, number, number, number, number, number, number, number];
/** N, H, W, C, Ho, Wo, KH, KW, stride, padTop, padLeft */
export type PoolGeom = [number, number, number, number, number, number, number, number, number, number, number];

// Shared loop nest of the three depthwise kernels (scatter form, valid ranges computed per row, no bounds checks
// inside): for n, oh, kh (valid ih), kw (valid ow range), channel vector cb, ow in range.
// 'filter': acc(w) += x·dy over ow, two accumulators (latency); 'input': dx += f·dy; 'forward': y += f·x.
// Param names follow 'filter'/'input' (X = input-side tensor, DY = output-side tensor, Wt = filter).
function depthwiseFn(mode: 'filter' | 'input' | 'forward'): Fn {
  const name = { filter: 'dwFilter', input: 'dwInput', forward: 'dwForward' }[mode];
  const f = new Fn(name, new Array<number>(15).fill(I32));
  const [X, DY, Wt, N, H, W, C, HO, WO, KH, KW, S, D, PT, PL] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14];
  const L = () => f.local(I32);
  const [n, oh, kh, kw, ih, iw0, owLo, owHi, cnt0, cnt, xRow, yRow, xs, ys, xp, yp, wp, cb, C4, sC4] = Array.from(
    { length: 20 },
    L,
  );
  const acc0 = f.local(V128);
  const acc1 = f.local(V128);
  const fv = f.local(V128);

  f.get(C).i32(4).mul().set(C4);
  f.get(S).get(C4).mul().set(sC4);
  f.for(n, () => f.i32(0), () => f.get(N), () => {
    f.for(oh, () => f.i32(0), () => f.get(HO), () => {
      // yRow = dy + ((n*Ho + oh)*Wo)*C4
      f.get(DY).get(n).get(HO).mul().get(oh).add().get(WO).mul().get(C4).mul().add().set(yRow);
      f.for(kh, () => f.i32(0), () => f.get(KH), () => {
        f.get(oh).get(S).mul().get(kh).get(D).mul().add().get(PT).sub().tee(ih);
        f.get(H).ltU();
        f.if(() => {
          f.get(X).get(n).get(H).mul().get(ih).add().get(W).mul().get(C4).mul().add().set(xRow);
          f.for(kw, () => f.i32(0), () => f.get(KW), () => {
            f.get(kw).get(D).mul().get(PL).sub().tee(iw0);
            f.get(W).ltS();
            f.if(() => {
              // owLo = iw0 < 0 ? (s - 1 - iw0) / s : 0
              f.get(S).i32(1).sub().get(iw0).sub().get(S).divU();
              f.i32(0);
              f.get(iw0).i32(0).ltS();
              f.select().set(owLo);
              // owHi = min(Wo, (W - 1 - iw0) / s + 1)
              f.get(W).i32(1).sub().get(iw0).sub().get(S).divS().i32(1).add().tee(owHi);
              f.get(WO);
              f.get(owHi).get(WO).ltS();
              f.select().set(owHi);
              f.get(owHi).get(owLo).sub().tee(cnt0).i32(0).gtS();
              f.if(() => {
                f.get(Wt).get(kh).get(KW).mul().get(kw).add().get(C4).mul().add().set(wp);
                f.get(xRow).get(iw0).get(owLo).get(S).mul().add().get(C4).mul().add().set(xs);
                f.get(yRow).get(owLo).get(C4).mul().add().set(ys);
                f.for(cb, () => f.i32(0), () => f.get(C4), () => {
                  f.get(xs).get(cb).add().set(xp);
                  f.get(ys).get(cb).add().set(yp);
                  if (mode === 'filter') {
                    f.get(wp).get(cb).add().v128load().set(acc0);
                    f.v128zero().set(acc1);
                    // odd count: one step first
                    f.get(cnt0).i32(1).and();
                    f.if(() => {
                      f.get(acc0).get(xp).v128load().get(yp).v128load().f32x4mul().f32x4add().set(acc0);
                      f.get(xp).get(sC4).add().set(xp);
                      f.get(yp).get(C4).add().set(yp);
                    });
                    f.get(cnt0).i32(1).shrU().tee(cnt);
                    f.if(() => {
                      f.countdown(cnt, () => {
                        f.get(acc0).get(xp).v128load().get(yp).v128load().f32x4mul().f32x4add().set(acc0);
                        f.get(xp).get(sC4).add().set(xp);
                        f.get(yp).get(C4).add().set(yp);
                        f.get(acc1).get(xp).v128load().get(yp).v128load().f32x4mul().f32x4add().set(acc1);
                        f.get(xp).get(sC4).add().set(xp);
                        f.get(yp).get(C4).add().set(yp);
                      });
                    });
                    f.get(wp).get(cb).add().get(acc0).get(acc1).f32x4add().v128store();
                  } else {
                    // input: accumulate into the x side from dy; forward: into the y side from x
                    const [dst, src] = mode === 'input' ? [xp, yp] : [yp, xp];
                    f.get(wp).get(cb).add().v128load().set(fv);
                    f.get(cnt0).set(cnt);
                    f.countdown(cnt, () => {
                      f.get(dst).get(dst).v128load().get(fv).get(src).v128load().f32x4mul().f32x4add().v128store();
                      f.get(xp).get(sC4).add().set(xp);
                      f.get(yp).get(C4).add().set(yp);
                    });
                  }
                }, 16);
              });
            });
          });
        });
      });
    });
  });
  return f;
}

/**
 * Pool gradients. For each output pixel, the in-bounds window [khLo,khHi)×[kwLo,kwHi) is computed once; then per
 * channel vector: max → running max and the byte offset of the first argmax per lane (strict >, row-major scan),
 * scattered lane by lane; avg → dy / count added to every window pixel.
 */
function poolGradFn(kind: 'max' | 'avg'): Fn {
  const nT = kind === 'max' ? 3 : 2;
  const f = new Fn(kind === 'max' ? 'maxPoolGrad' : 'avgPoolGrad', new Array<number>(nT + 11).fill(I32));
  const X = 0;
  const DY = kind === 'max' ? 1 : 0;
  const DX = nT - 1;
  const [N, H, W, C, HO, WO, KH, KW, S, PT, PL] = Array.from({ length: 11 }, (_, i) => nT + i);
  const L = () => f.local(I32);
  const [n, oh, ow, kh, kw, h0, w0, khLo, khHi, kwLo, kwHi, t, C4, yOff, firstOff, rowOff, off, cb, cnt, zero] =
    Array.from({ length: 20 }, L);
  const [best, bidx, v, m, g] = [f.local(V128), f.local(V128), f.local(V128), f.local(V128), f.local(V128)];
  f.get(C).i32(4).mul().set(C4);
  f.i32(0).set(zero);
  f.for(n, () => f.i32(0), () => f.get(N), () => {
    f.for(oh, () => f.i32(0), () => f.get(HO), () => {
      f.get(oh).get(S).mul().get(PT).sub().set(h0);
      f.i32(0).get(h0).sub().set(t);
      f.maxS(khLo, zero, t);
      f.get(H).get(h0).sub().set(t);
      f.minS(khHi, KH, t);
      f.for(ow, () => f.i32(0), () => f.get(WO), () => {
        f.get(ow).get(S).mul().get(PL).sub().set(w0);
        f.i32(0).get(w0).sub().set(t);
        f.maxS(kwLo, zero, t);
        f.get(W).get(w0).sub().set(t);
        f.minS(kwHi, KW, t);
        f.get(khHi).get(khLo).sub().get(kwHi).get(kwLo).sub().mul().tee(cnt);
        f.i32(0).gtS();
        f.if(() => {
          f.get(n).get(HO).mul().get(oh).add().get(WO).mul().get(ow).add().get(C4).mul().set(yOff);
          if (kind === 'max') {
            f.get(n).get(H).mul().get(h0).add().get(khLo).add().get(W).mul().get(w0).add().get(kwLo).add().get(C4).mul().set(firstOff);
          } else {
            f.f32const(1).get(cnt).f32convertI32S().f32div().f32x4splat().set(v);
          }
          f.for(cb, () => f.i32(0), () => f.get(C4), () => {
            if (kind === 'max') {
              f.get(X).get(firstOff).add().get(cb).add().v128load().set(best);
              f.get(firstOff).i32x4splat().set(bidx);
            } else {
              f.get(DY).get(yOff).add().get(cb).add().v128load().get(v).f32x4mul().set(g);
            }
            f.for(kh, () => f.get(khLo), () => f.get(khHi), () => {
              f.get(n).get(H).mul().get(h0).add().get(kh).add().get(W).mul().get(w0).add().get(C4).mul().set(rowOff);
              f.for(kw, () => f.get(kwLo), () => f.get(kwHi), () => {
                f.get(rowOff).get(kw).get(C4).mul().add().set(off);
                if (kind === 'max') {
                  f.get(X).get(off).add().get(cb).add().v128load().tee(v).get(best).f32x4gt().set(m);
                  f.get(v).get(best).get(m).bitselect().set(best);
                  f.get(off).i32x4splat().get(bidx).get(m).bitselect().set(bidx);
                } else {
                  f.get(DX).get(off).add().get(cb).add().tee(t);
                  f.get(t).v128load().get(g).f32x4add().v128store();
                }
              });
            });
            if (kind === 'max') {
              for (let lane = 0; lane < 4; lane++) {
                f.get(DX).get(bidx).i32x4extract(lane).add().get(cb).add().tee(t);
                f.get(t).f32load(4 * lane).get(DY).get(yOff).add().get(cb).add().f32load(4 * lane).f32add().f32store(4 * lane);
              }
            }
          }, 16);
        });
      });
    });
  });
  return f;
}

/** Row-wise loop over `rows` rows of C channels (C4 bytes), channel vectors inner. */
function bnStatsFn(): Fn {
  const f = new Fn('bnStats', [I32, I32, I32, I32, I32, I32]);
  const [X, ROWS, C, SHIFT, SUM, SUMSQ] = [0, 1, 2, 3, 4, 5];
  const [r, cb, C4, xp] = [f.local(I32), f.local(I32), f.local(I32), f.local(I32)];
  const v = f.local(V128);
  f.get(C).i32(4).mul().set(C4);
  f.get(X).set(xp);
  f.for(r, () => f.i32(0), () => f.get(ROWS), () => {
    f.for(cb, () => f.i32(0), () => f.get(C4), () => {
      f.get(xp).get(cb).add().v128load().get(SHIFT).get(cb).add().v128load().f32x4sub().set(v);
      f.get(SUM).get(cb).add().get(SUM).get(cb).add().v128load().get(v).f32x4add().v128store();
      f.get(SUMSQ).get(cb).add().get(SUMSQ).get(cb).add().v128load().get(v).get(v).f32x4mul().f32x4add().v128store();
    }, 16);
    f.get(xp).get(C4).add().set(xp);
  });
  return f;
}

function affineFn(): Fn {
  const f = new Fn('affine', [I32, I32, I32, I32, I32, I32]);
  const [X, Y, ROWS, C, A, B] = [0, 1, 2, 3, 4, 5];
  const [r, cb, C4, off] = [f.local(I32), f.local(I32), f.local(I32), f.local(I32)];
  f.get(C).i32(4).mul().set(C4);
  f.i32(0).set(off);
  f.for(r, () => f.i32(0), () => f.get(ROWS), () => {
    f.for(cb, () => f.i32(0), () => f.get(C4), () => {
      f.get(Y).get(off).add().get(cb).add();
      f.get(X).get(off).add().get(cb).add().v128load().get(A).get(cb).add().v128load().f32x4mul();
      f.get(B).get(cb).add().v128load().f32x4add().v128store();
    }, 16);
    f.get(off).get(C4).add().set(off);
  });
  return f;
}

function bnGradStatsFn(): Fn {
  const f = new Fn('bnGradStats', new Array<number>(7).fill(I32));
  const [X, DY, ROWS, C, MEAN, SDY, SDYX] = [0, 1, 2, 3, 4, 5, 6];
  const [r, cb, C4, off] = [f.local(I32), f.local(I32), f.local(I32), f.local(I32)];
  const g = f.local(V128);
  f.get(C).i32(4).mul().set(C4);
  f.i32(0).set(off);
  f.for(r, () => f.i32(0), () => f.get(ROWS), () => {
    f.for(cb, () => f.i32(0), () => f.get(C4), () => {
      f.get(DY).get(off).add().get(cb).add().v128load().set(g);
      f.get(SDY).get(cb).add().get(SDY).get(cb).add().v128load().get(g).f32x4add().v128store();
      f.get(SDYX).get(cb).add().get(SDYX).get(cb).add().v128load();
      f.get(X).get(off).add().get(cb).add().v128load().get(MEAN).get(cb).add().v128load().f32x4sub();
      f.get(g).f32x4mul().f32x4add().v128store();
    }, 16);
    f.get(off).get(C4).add().set(off);
  });
  return f;
}

function bnGradApplyFn(): Fn {
  const f = new Fn('bnGradApply', new Array<number>(9).fill(I32));
  const [X, DY, DX, ROWS, C, MEAN, A, B, K] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
  const [r, cb, C4, off] = [f.local(I32), f.local(I32), f.local(I32), f.local(I32)];
  f.get(C).i32(4).mul().set(C4);
  f.i32(0).set(off);
  f.for(r, () => f.i32(0), () => f.get(ROWS), () => {
    f.for(cb, () => f.i32(0), () => f.get(C4), () => {
      f.get(DX).get(off).add().get(cb).add();
      f.get(DY).get(off).add().get(cb).add().v128load().get(A).get(cb).add().v128load().f32x4mul();
      f.get(X).get(off).add().get(cb).add().v128load().get(MEAN).get(cb).add().v128load().f32x4sub();
      f.get(B).get(cb).add().v128load().f32x4mul().f32x4add();
      f.get(K).get(cb).add().v128load().f32x4add().v128store();
    }, 16);
    f.get(off).get(C4).add().set(off);
  });
  return f;
}

let moduleBytes: Uint8Array | undefined;
let compiled: WebAssembly.Module | null | undefined;
const instances = new WeakMap<WebAssembly.Memory, SimdKernels>();

function compile(): WebAssembly.Module | null {
  if (compiled !== undefined) return compiled;
  try {
    moduleBytes = assemble([
      depthwiseFn('filter'), depthwiseFn('input'), depthwiseFn('forward'), poolGradFn('max'), poolGradFn('avg'), bnStatsFn(), affineFn(), bnGradStatsFn(), bnGradApplyFn(),
    ]);
    compiled = new WebAssembly.Module(moduleBytes as Uint8Array<ArrayBuffer>);
  } catch (err) {
    if (process.env.NAS_KERNELS_DEBUG) console.warn('nas kernels: SIMD module unavailable:', err);
    compiled = null;
  }
  return compiled;
}

/** The SIMD kernels for this wasm backend, or undefined (no SIMD support, shared memory, or NAS_NO_SIMD=1). */
export function simdFor(backend: WasmBackendLike): SimdKernels | undefined {
  if (process.env.NAS_NO_SIMD === '1') return undefined;
  const mem = backend.wasm.asm?.memory;
  if (!(mem instanceof WebAssembly.Memory)) return undefined;
  const hit = instances.get(mem);
  if (hit) return hit;
  if (typeof SharedArrayBuffer !== 'undefined' && mem.buffer instanceof SharedArrayBuffer) return undefined;
  const mod = compile();
  if (!mod) return undefined;
  const inst = new WebAssembly.Instance(mod, { env: { mem } });
  const k = inst.exports as unknown as SimdKernels;
  instances.set(mem, k);
  return k;
}
