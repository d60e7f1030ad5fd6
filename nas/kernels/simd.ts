// wasm SIMD kernels (hand-assembled, see wasm-asm.ts) that run in place on the tfjs-backend-wasm heap.
// All pointers are byte offsets into the backend's memory; tensors are NHWC float32 with C % 4 === 0.
// One module instance per WebAssembly.Memory (one per wasm backend), built on first use.
import { Fn, I32, V128, assemble } from './wasm-asm.js';
import type { WasmBackendLike } from './runtime.js';
import { KernelPool, kernelThreads } from './parallel.js';
import { PARALLEL_KERNELS, splitKernels, type RawKernels } from './split.js';
import { depthwiseGatherFn } from './dw-gather.js';

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
  /** Output-stationary forward (dw-gather.ts): y = Σ f·x WRITTEN (no zeroing needed); bit-identical to dwForward. */
  dwForwardGather(x: number, y: number, f: number, ...geom: DwGeom): void;
  /** Output-stationary backprop-input for stride 1 only: dx written; bit-identical to dwInput. */
  dwInputGather(dx: number, dy: number, f: number, ...geom: DwGeom): void;
  /** dx[first argmax of each window] += dy (dx must be zeroed). Geometry: N,H,W,C,Ho,Wo,KH,KW,stride,padTop,padLeft. */
  maxPoolGrad(x: number, dy: number, dx: number, ...geom: PoolGeom): void;
  /** dx[window] += dy / (in-bounds count) (dx must be zeroed). */
  avgPoolGrad(dy: number, dx: number, ...geom: PoolGeom): void;
  /** y = x·a[c] + b[c]. */
  affine(x: number, y: number, rows: number, C: number, a: number, b: number): void;
  /** dx = dy·a[c] + (x − mean[c])·b[c] + k[c]. */
  bnGradApply(x: number, dy: number, dx: number, rows: number, C: number, mean: number, a: number, b: number, k: number): void;
  /**
   * Pointwise (1×1 conv) forward: y[r, :] = Σ_ci x[r, ci]·w[ci, :] over `rows` rows; x [rows, cin], w [cin, cout],
   * y [rows, cout] (written, not accumulated). cout % 4 = 0. Also dx = dy·wᵀ when called with wᵀ.
   */
  pwForward(x: number, w: number, y: number, rows: number, cin: number, cout: number): void;
  /**
   * pwForward and y's batch-norm statistics as bnStats64 sums them (shift: C floats, the first row of y; s32, q32:
   * C f32 partials of scratch; s64, q64: C doubles each, zeroed first; chunk % 4 = 0), in the same pass.
   */
  pwForwardStats(x: number, w: number, y: number, rows: number, cin: number, cout: number,
    shift: number, s32: number, q32: number, s64: number, q64: number, chunk: number): void;
  /** Pointwise filter gradient: dw[ci, co] += Σ_r x[r, ci]·dy[r, co]. cin % 4 = 0, cout % 4 = 0. */
  pwFilter(x: number, dy: number, dw: number, rows: number, cin: number, cout: number): void;
  /**
   * Calls of one reduction kernel on parts of its rows (argument lists as the kernel's, each part writing its own
   * partial sums), a group at a time: the calls of a group at once (call j on thread j, at most `threads`), or one
   * after another when the total `work` is below the split threshold. The caller adds the partials in a fixed order.
   * threadGroups (split.ts) forms the groups.
   */
  runParts(name: 'pwFilter' | 'dwFilter' | 'bnStats64' | 'bnGradStats64' | 'pwForwardStats', groups: number[][][], work: number): void;
  /** Threads the calls are split over (1: everything runs on the calling thread). */
  readonly threads: number;
  /** out = Σ_t coefs[t]·Y_t over lenBytes (% 16 = 0); ptrs: n i32 byte offsets of the Y_t, coefs: n f32. n ≥ 1. */
  wsum(out: number, n: number, ptrs: number, coefs: number, lenBytes: number): void;
  /** out[t] += Σ dy·Y_t over lenBytes (% 16 = 0), f32 accumulation; ptrs: n i32 byte offsets, out: n f32. */
  wdot(dy: number, n: number, ptrs: number, out: number, lenBytes: number): void;
  /** y = x·(*coef) over lenBytes (% 16 = 0). */
  scale(x: number, y: number, coef: number, lenBytes: number): void;
  /** y = max(x, 0) (NaN stays NaN) over lenBytes (% 16 = 0). */
  relu(x: number, y: number, lenBytes: number): void;
  /** dx = y > 0 ? dy : 0 over lenBytes (% 16 = 0). */
  reluGrad(dy: number, y: number, dx: number, lenBytes: number): void;
  /**
   * Batch-norm statistics over all rows in one call: per chunk of `chunk` rows f32 sums, then added into float64
   * s64[c] = Σ(x − shift[c]), q64[c] = Σ(x − shift[c])² (C doubles each, 16-byte aligned; zeroed first).
   */
  bnStats64(x: number, rows: number, C: number, shift: number, s64: number, q64: number, chunk: number): void;
  /** The backward statistics the same way: s64[c] = Σ dy, q64[c] = Σ dy·(x − mean[c]). */
  bnGradStats64(x: number, dy: number, rows: number, C: number, mean: number, s64: number, q64: number, chunk: number): void;
  /**
   * 3-level strided copy of `vecBytes` (% 16 = 0) blocks: for n < N, i < I, j < J:
   * dst[n·dN + i·dI + j·dJ] ← src[n·sN + i·sI + j·sJ] (all strides in bytes).
   */
  copy3(dst: number, dN: number, dI: number, dJ: number, src: number, sN: number, sI: number, sJ: number,
    N: number, I: number, J: number, vecBytes: number): void;
  /** 2-D strided copy: rows × widthBytes (% 16 = 0) from src (row stride srcRowBytes) to dst (dstRowBytes). */
  copyRows(dst: number, dstRowBytes: number, src: number, srcRowBytes: number, widthBytes: number, rows: number): void;
}
/** N, H, W, C, Ho, Wo, KH, KW, stride, dilation, padTop, padLeft */
export type DwGeom = [number, number, number, number, number, number, number, number, number, number, number, number];
/** N, H, W, C, Ho, Wo, KH, KW, stride, padTop, padLeft */
export type PoolGeom = [number, number, number, number, number, number, number, number, number, number, number];

// Shared loop nest of the three depthwise kernels (scatter form, valid ranges computed per row, no bounds checks
// inside): for n, oh, kh (valid ih), kw (valid ow range), channel vectors, ow in range.
// 'filter': per channel vector, acc(w) += x·dy over ow, two accumulators (latency); 'input': dx += f·dy and
// 'forward': y += f·x, with up to 4 channel vectors per pass over ow (fewer loop and address instructions per MAC).
// Param names follow 'filter'/'input' (X = input-side tensor, DY = output-side tensor, Wt = filter).
function depthwiseFn(mode: 'filter' | 'input' | 'forward'): Fn {
  const name = { filter: 'dwFilter', input: 'dwInput', forward: 'dwForward' }[mode];
  const f = new Fn(name, new Array<number>(15).fill(I32));
  const [X, DY, Wt, N, H, W, C, HO, WO, KH, KW, S, D, PT, PL] = Array.from({ length: 15 }, (_, i) => i);
  const L = () => f.local(I32);
  const [n, oh, kh, kw, ih, iw0, owLo, owHi, cnt0, cnt, xRow, yRow, xs, ys, xp, yp, wp, cb, C4, sC4] = Array.from(
    { length: 20 },
    L,
  );
  const acc0 = f.local(V128);
  const acc1 = f.local(V128);
  const fvs = Array.from({ length: 4 }, () => f.local(V128));

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
                if (mode === 'filter') {
                  f.for(cb, () => f.i32(0), () => f.get(C4), () => {
                    f.get(xs).get(cb).add().set(xp);
                    f.get(ys).get(cb).add().set(yp);
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
                  }, 16);
                } else {
                  // input: accumulate into the x side from dy; forward: into the y side from x. Channel vectors in
                  // blocks of 4, then 2, then 1 (each output element still sums its taps in the same order).
                  const [dst, src] = mode === 'input' ? [xp, yp] : [yp, xp];
                  const block = (V: number) => {
                    f.get(xs).get(cb).add().set(xp);
                    f.get(ys).get(cb).add().set(yp);
                    for (let v = 0; v < V; v++) f.get(wp).get(cb).add().v128load(16 * v).set(fvs[v]);
                    f.get(cnt0).set(cnt);
                    f.countdown(cnt, () => {
                      for (let v = 0; v < V; v++) {
                        f.get(dst).get(dst).v128load(16 * v).get(fvs[v]).get(src).v128load(16 * v).f32x4mul().f32x4add().v128store(16 * v);
                      }
                      f.get(xp).get(sC4).add().set(xp);
                      f.get(yp).get(C4).add().set(yp);
                    });
                    f.get(cb).i32(16 * V).add().set(cb);
                  };
                  f.vectorBlocks(cb, C4, [4, 2, 1], block);
                }
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

/** The two f64 vectors at byte address (local) `addr` + off += the four f32 lanes of the v128 local v: lanes 0–1, then 2–3. */
function addPromoted(f: Fn, addr: number, off: number, v: number): void {
  f.get(addr).get(addr).v128load(off).get(v).f64x2promoteLow().f64x2add().v128store(off);
  f.get(addr).get(addr).v128load(off + 16);
  f.get(v).get(v).i8x16shuffle([8, 9, 10, 11, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15]).f64x2promoteLow();
  f.f64x2add().v128store(off + 16);
}

/**
 * y = x·w, register-tiled: 4 rows × 8 output channels (8 accumulators) per pass over cin, then a 4-channel tail,
 * then the last rows % 4 rows one at a time. Each x value is loaded splatted (v128.load32_splat).
 *
 * `stats` (pwForwardStats, extra params shift, s32, q32, s64, q64, chunk): also the batch-norm statistics of y as
 * bnStats64 sums them, taken from the accumulators before they are stored instead of from a second pass over y.
 * Each tile adds its rows' y − shift and (y − shift)² to f32 partials (s32, q32: C floats, in L1), rows ascending;
 * every `chunk` rows (a multiple of 4) and after the last row the partials are promoted and added to the float64
 * sums s64, q64 and zeroed. So every channel gets bnStats64's additions in bnStats64's order: the same bits.
 */
function pwForwardFn(stats = false): Fn {
  const f = new Fn(stats ? 'pwForwardStats' : 'pwForward', new Array<number>(stats ? 12 : 6).fill(I32));
  const [X, Wt, Y, ROWS, CIN, COUT, REF, S32, Q32, S64, Q64, CHUNK] = Array.from({ length: 12 }, (_, i) => i);
  const L = () => f.local(I32);
  const [r, rows4, cin4, cout4, cout8, cb, xr, yr, xp, wp, cnt, o1, o2, o3, yo, inChunk, sp] = Array.from({ length: 17 }, L);
  const acc = Array.from({ length: 8 }, () => f.local(V128));
  const sv = Array.from({ length: 4 }, () => f.local(V128));
  const wv = Array.from({ length: 2 }, () => f.local(V128));
  const [sa, qa, rf, dv, z] = Array.from({ length: 5 }, () => f.local(V128));
  /** s64 += promote(s32), q64 += promote(q32), both partials zeroed (all channels). */
  const flush = () => {
    f.for(cb, () => f.i32(0), () => f.get(cout4), () => {
      for (const [a32, a64] of [[S32, S64], [Q32, Q64]]) {
        f.get(a32).get(cb).add().v128load().set(dv);
        f.get(a64).get(cb).get(cb).add().add().set(sp);
        addPromoted(f, sp, 0, dv);
        f.get(a32).get(cb).add().get(z).v128store();
      }
    }, 16);
  };
  if (stats) {
    f.v128zero().set(z);
    f.for(cb, () => f.i32(0), () => f.get(COUT).i32(4).mul(), () => {
      for (const a of [S32, Q32]) f.get(a).get(cb).add().get(z).v128store();
      for (const a of [S64, Q64]) {
        f.get(a).get(cb).get(cb).add().add().get(z).v128store();
        f.get(a).get(cb).get(cb).add().add().get(z).v128store(16);
      }
    }, 16);
    f.i32(0).set(inChunk);
  }
  f.get(CIN).i32(4).mul().set(cin4);
  f.get(COUT).i32(4).mul().set(cout4);
  f.get(cout4).i32(-32).and().set(cout8);
  f.get(ROWS).i32(-4).and().set(rows4);
  f.get(cin4).set(o1);
  f.get(cin4).i32(2).mul().set(o2);
  f.get(cin4).i32(3).mul().set(o3);
  // one tile: R rows from xr/yr, V vectors of output channels from byte column cb
  const tile = (R: number, V: number) => {
    for (let i = 0; i < R * V; i++) f.v128zero().set(acc[i]);
    f.get(xr).set(xp);
    f.get(Wt).get(cb).add().set(wp);
    f.get(CIN).set(cnt);
    f.countdown(cnt, () => {
      const offs = [undefined, o1, o2, o3];
      for (let rr = 0; rr < R; rr++) {
        f.get(xp);
        if (rr > 0) f.get(offs[rr]!).add();
        f.v128load32splat().set(sv[rr]);
      }
      for (let v = 0; v < V; v++) f.get(wp).v128load(16 * v).set(wv[v]);
      for (let rr = 0; rr < R; rr++) {
        for (let v = 0; v < V; v++) f.get(acc[rr * V + v]).get(sv[rr]).get(wv[v]).f32x4mul().f32x4add().set(acc[rr * V + v]);
      }
      f.get(xp).i32(4).add().set(xp);
      f.get(wp).get(cout4).add().set(wp);
    });
    f.get(yr).get(cb).add().set(yo);
    for (let rr = 0; rr < R; rr++) {
      for (let v = 0; v < V; v++) f.get(yo).get(acc[rr * V + v]).v128store(16 * v);
      if (rr < R - 1) f.get(yo).get(cout4).add().set(yo);
    }
    if (stats) {
      // the tile's rows in order into the f32 partials of its channels
      for (let v = 0; v < V; v++) {
        f.get(S32).get(cb).add().v128load(16 * v).set(sa);
        f.get(Q32).get(cb).add().v128load(16 * v).set(qa);
        f.get(REF).get(cb).add().v128load(16 * v).set(rf);
        for (let rr = 0; rr < R; rr++) {
          f.get(acc[rr * V + v]).get(rf).f32x4sub().set(dv);
          f.get(sa).get(dv).f32x4add().set(sa);
          f.get(qa).get(dv).get(dv).f32x4mul().f32x4add().set(qa);
        }
        f.get(S32).get(cb).add().get(sa).v128store(16 * v);
        f.get(Q32).get(cb).add().get(qa).v128store(16 * v);
      }
    }
  };
  /** After R more rows: flush the partials when a chunk is full. */
  const countRows = (R: number) => {
    if (!stats) return;
    f.get(inChunk).i32(R).add().tee(inChunk).get(CHUNK).ne().eqz();
    f.if(() => {
      flush();
      f.i32(0).set(inChunk);
    });
  };
  const rowBlock = (R: number) => {
    f.for(cb, () => f.i32(0), () => f.get(cout8), () => tile(R, 2), 32);
    f.get(cout4).i32(16).and();
    f.if(() => {
      f.get(cout8).set(cb);
      tile(R, 1);
    });
  };
  f.for(r, () => f.i32(0), () => f.get(rows4), () => {
    f.get(X).get(r).get(cin4).mul().add().set(xr);
    f.get(Y).get(r).get(cout4).mul().add().set(yr);
    rowBlock(4);
    countRows(4);
  }, 4);
  f.for(r, () => f.get(rows4), () => f.get(ROWS), () => {
    f.get(X).get(r).get(cin4).mul().add().set(xr);
    f.get(Y).get(r).get(cout4).mul().add().set(yr);
    rowBlock(1);
    countRows(1);
  });
  if (stats) {
    f.get(inChunk).i32(0).gtS();
    f.if(flush);
  }
  return f;
}

/** dw += xᵀ·dy, register-tiled: 4 input channels × 8 output channels per pass over the rows, then a 4-channel tail. */
function pwFilterFn(): Fn {
  const f = new Fn('pwFilter', [I32, I32, I32, I32, I32, I32]);
  const [X, DY, DW, ROWS, CIN, COUT] = [0, 1, 2, 3, 4, 5];
  const L = () => f.local(I32);
  const [cib, cin4, cout4, cout8, cb, xp, dp, cnt, wo] = Array.from({ length: 9 }, L);
  const acc = Array.from({ length: 8 }, () => f.local(V128));
  const sv = Array.from({ length: 4 }, () => f.local(V128));
  const dv = Array.from({ length: 2 }, () => f.local(V128));
  f.get(CIN).i32(4).mul().set(cin4);
  f.get(COUT).i32(4).mul().set(cout4);
  f.get(cout4).i32(-32).and().set(cout8);
  const tile = (V: number) => {
    // wo = dw + (cib/4)·cout4 + cb: row ci = cib/4 of dw
    f.get(DW).get(cib).i32(4).divU().get(cout4).mul().add().get(cb).add().set(wo);
    for (let q = 0; q < 4; q++) {
      for (let v = 0; v < V; v++) {
        f.get(wo);
        if (q > 0) for (let t = 0; t < q; t++) f.get(cout4).add();
        f.v128load(16 * v).set(acc[q * V + v]);
      }
    }
    f.get(X).get(cib).add().set(xp);
    f.get(DY).get(cb).add().set(dp);
    f.get(ROWS).set(cnt);
    f.get(cnt);
    f.if(() => {
      f.countdown(cnt, () => {
        for (let q = 0; q < 4; q++) f.get(xp).v128load32splat(4 * q).set(sv[q]);
        for (let v = 0; v < V; v++) f.get(dp).v128load(16 * v).set(dv[v]);
        for (let q = 0; q < 4; q++) {
          for (let v = 0; v < V; v++) f.get(acc[q * V + v]).get(sv[q]).get(dv[v]).f32x4mul().f32x4add().set(acc[q * V + v]);
        }
        f.get(xp).get(cin4).add().set(xp);
        f.get(dp).get(cout4).add().set(dp);
      });
    });
    for (let q = 0; q < 4; q++) {
      for (let v = 0; v < V; v++) f.get(wo).get(acc[q * V + v]).v128store(16 * v);
      if (q < 3) f.get(wo).get(cout4).add().set(wo);
    }
  };
  f.for(cib, () => f.i32(0), () => f.get(cin4), () => {
    f.for(cb, () => f.i32(0), () => f.get(cout8), () => tile(2), 32);
    f.get(cout4).i32(16).and();
    f.if(() => {
      f.get(cout8).set(cb);
      tile(1);
    });
  }, 16);
  return f;
}

/**
 * Bytes of the output per block of the weighted sum. A node's sum reads 14-35 maps, and with 4 KiB blocks every
 * block starts a new page of each of them: a 28-term sum of 512 KiB maps took 1.43 ms at 4 KiB and 0.84 ms at
 * 32 KiB (medians of six alternating runs; bench/README.md, sixth round). The order of the additions per element
 * does not change.
 */
const WSUM_BLOCK = 32768;
/** Blocked weighted sum: per block of WSUM_BLOCK bytes of the output, the first term writes, the rest add. */
function wsumFn(): Fn {
  const f = new Fn('wsum', [I32, I32, I32, I32, I32]);
  const [OUT, N, PTRS, COEFS, LEN] = [0, 1, 2, 3, 4];
  const [blk, end, t, yp, off] = [f.local(I32), f.local(I32), f.local(I32), f.local(I32), f.local(I32)];
  const c = f.local(V128);
  f.for(blk, () => f.i32(0), () => f.get(LEN), () => {
    f.get(blk).i32(WSUM_BLOCK).add().set(end);
    f.get(end).get(LEN).get(end).get(LEN).ltS().select().set(end);
    f.for(t, () => f.i32(0), () => f.get(N), () => {
      f.get(COEFS).get(t).i32(4).mul().add().v128load32splat().set(c);
      f.get(PTRS).get(t).i32(4).mul().add().i32load().set(yp);
      f.get(t).eqz();
      f.if(() => {
        f.for(off, () => f.get(blk), () => f.get(end), () => {
          f.get(OUT).get(off).add().get(c).get(yp).get(off).add().v128load().f32x4mul().v128store();
        }, 16);
      });
      f.get(t).i32(0).ne();
      f.if(() => {
        f.for(off, () => f.get(blk), () => f.get(end), () => {
          f.get(OUT).get(off).add();
          f.get(OUT).get(off).add().v128load().get(c).get(yp).get(off).add().v128load().f32x4mul().f32x4add();
          f.v128store();
        }, 16);
      });
    });
  }, WSUM_BLOCK);
  return f;
}

/** Dot products of dy with each Y_t: two vector accumulators, lanes summed at the end and added to out[t]. */
function wdotFn(): Fn {
  const f = new Fn('wdot', [I32, I32, I32, I32, I32]);
  const [DY, N, PTRS, OUT, LEN] = [0, 1, 2, 3, 4];
  const [t, yp, off, len32, o] = [f.local(I32), f.local(I32), f.local(I32), f.local(I32), f.local(I32)];
  const [a0, a1] = [f.local(V128), f.local(V128)];
  f.get(LEN).i32(-32).and().set(len32);
  f.for(t, () => f.i32(0), () => f.get(N), () => {
    f.get(PTRS).get(t).i32(4).mul().add().i32load().set(yp);
    f.v128zero().set(a0);
    f.v128zero().set(a1);
    f.for(off, () => f.i32(0), () => f.get(len32), () => {
      f.get(a0).get(DY).get(off).add().v128load().get(yp).get(off).add().v128load().f32x4mul().f32x4add().set(a0);
      f.get(a1).get(DY).get(off).add().v128load(16).get(yp).get(off).add().v128load(16).f32x4mul().f32x4add().set(a1);
    }, 32);
    f.get(LEN).get(len32).ne();
    f.if(() => {
      f.get(a0).get(DY).get(len32).add().v128load().get(yp).get(len32).add().v128load().f32x4mul().f32x4add().set(a0);
    });
    f.get(a0).get(a1).f32x4add().set(a0);
    f.get(OUT).get(t).i32(4).mul().add().set(o);
    f.get(o);
    f.get(o).f32load();
    f.get(a0).f32x4extract(0).get(a0).f32x4extract(1).f32add().get(a0).f32x4extract(2).get(a0).f32x4extract(3).f32add().f32add();
    f.f32add().f32store();
  });
  return f;
}

function scaleFn(): Fn {
  const f = new Fn('scale', [I32, I32, I32, I32]);
  const [X, Y, COEF, LEN] = [0, 1, 2, 3];
  const off = f.local(I32);
  const c = f.local(V128);
  f.get(COEF).v128load32splat().set(c);
  f.for(off, () => f.i32(0), () => f.get(LEN), () => {
    f.get(Y).get(off).add().get(X).get(off).add().v128load().get(c).f32x4mul().v128store();
  }, 16);
  return f;
}

function reluFn(): Fn {
  const f = new Fn('relu', [I32, I32, I32]);
  const [X, Y, LEN] = [0, 1, 2];
  const off = f.local(I32);
  const z = f.local(V128);
  f.v128zero().set(z);
  f.for(off, () => f.i32(0), () => f.get(LEN), () => {
    f.get(Y).get(off).add().get(X).get(off).add().v128load().get(z).f32x4max().v128store();
  }, 16);
  return f;
}

function reluGradFn(): Fn {
  const f = new Fn('reluGrad', [I32, I32, I32, I32]);
  const [DY, Y, DX, LEN] = [0, 1, 2, 3];
  const off = f.local(I32);
  const z = f.local(V128);
  f.v128zero().set(z);
  f.for(off, () => f.i32(0), () => f.get(LEN), () => {
    f.get(DX).get(off).add();
    f.get(DY).get(off).add().v128load().get(Y).get(off).add().v128load().get(z).f32x4gt().v128and();
    f.v128store();
  }, 16);
  return f;
}

function copyRowsFn(): Fn {
  const f = new Fn('copyRows', [I32, I32, I32, I32, I32, I32]);
  const [DST, DROW, SRC, SROW, WIDTH, ROWS] = [0, 1, 2, 3, 4, 5];
  const [r, b, d, s] = [f.local(I32), f.local(I32), f.local(I32), f.local(I32)];
  f.get(DST).set(d);
  f.get(SRC).set(s);
  f.for(r, () => f.i32(0), () => f.get(ROWS), () => {
    f.for(b, () => f.i32(0), () => f.get(WIDTH), () => {
      f.get(d).get(b).add().get(s).get(b).add().v128load().v128store();
    }, 16);
    f.get(d).get(DROW).add().set(d);
    f.get(s).get(SROW).add().set(s);
  });
  return f;
}

/**
 * Batch-norm statistics (forward: Σ(x − shift), Σ(x − shift)²; backward: Σdy, Σdy·(x − mean)) over all rows in one
 * call. Per chunk of rows and per block of up to 4 channel vectors, f32 sums in registers down the chunk's rows; after
 * each chunk they are promoted and added to float64 sums in memory. Every channel sees the additions of the JS chunk
 * loop this replaced, in the same order (rows ascending within a chunk, chunks in order), so the bits are the same
 * with any block size; the registers only save the load and store of a partial per row and vector.
 */
function bnStats64Fn(kind: 'forward' | 'grad'): Fn {
  const grad = kind === 'grad';
  const f = new Fn(grad ? 'bnGradStats64' : 'bnStats64', new Array<number>(grad ? 8 : 7).fill(I32));
  const [X, DY] = [0, 1];
  const base = grad ? 2 : 1;
  const [ROWS, C, REF, S64, Q64, CHUNK] = Array.from({ length: 6 }, (_, i) => base + i);
  const [cb, C4, xo, left, n, t, xp, gp] = Array.from({ length: 8 }, () => f.local(I32));
  const [v, g, z] = [f.local(V128), f.local(V128), f.local(V128)];
  const s = Array.from({ length: 4 }, () => f.local(V128));
  const q = Array.from({ length: 4 }, () => f.local(V128));
  const ref = Array.from({ length: 4 }, () => f.local(V128));
  f.get(C).i32(4).mul().set(C4);
  f.v128zero().set(z);
  f.for(cb, () => f.i32(0), () => f.get(C4), () => {
    for (const a of [S64, Q64]) {
      f.get(a).get(cb).get(cb).add().add().get(z).v128store();
      f.get(a).get(cb).get(cb).add().add().get(z).v128store(16);
    }
  }, 16);
  f.i32(0).set(xo);
  f.get(ROWS).set(left);
  f.block(() => f.loop(() => {
    f.get(left).i32(0).gtS().eqz().brIf(1);
    // n = min(CHUNK, left) > 0
    f.get(CHUNK).get(left).get(CHUNK).get(left).ltS().select().set(n);
    f.vectorBlocks(cb, C4, [4, 2, 1], (V) => {
      for (let i = 0; i < V; i++) {
        f.get(z).set(s[i]);
        f.get(z).set(q[i]);
        f.get(REF).get(cb).add().v128load(16 * i).set(ref[i]);
      }
      f.get(X).get(xo).add().get(cb).add().set(xp);
      if (grad) f.get(DY).get(xo).add().get(cb).add().set(gp);
      f.get(n).set(t);
      f.countdown(t, () => {
        for (let i = 0; i < V; i++) {
          if (grad) {
            f.get(gp).v128load(16 * i).set(g);
            f.get(s[i]).get(g).f32x4add().set(s[i]);
            f.get(xp).v128load(16 * i).get(ref[i]).f32x4sub().set(v);
            f.get(q[i]).get(v).get(g).f32x4mul().f32x4add().set(q[i]);
          } else {
            f.get(xp).v128load(16 * i).get(ref[i]).f32x4sub().set(v);
            f.get(s[i]).get(v).f32x4add().set(s[i]);
            f.get(q[i]).get(v).get(v).f32x4mul().f32x4add().set(q[i]);
          }
        }
        f.get(xp).get(C4).add().set(xp);
        if (grad) f.get(gp).get(C4).add().set(gp);
      });
      // flush: f64 += promote(f32 partial), the low two lanes then the high two
      for (let i = 0; i < V; i++) {
        for (const [acc, a64] of [[s[i], S64], [q[i], Q64]]) {
          f.get(a64).get(cb).get(cb).add().add().set(t);
          addPromoted(f, t, 32 * i, acc);
        }
      }
      f.get(cb).i32(16 * V).add().set(cb);
    });
    f.get(xo).get(n).get(C4).mul().add().set(xo);
    f.get(left).get(n).sub().set(left);
    f.br(0);
  }));
  return f;
}

function copy3Fn(): Fn {
  const f = new Fn('copy3', new Array<number>(12).fill(I32));
  const [DST, DN, DI, DJ, SRC, SN, SI, SJ, N, I, J, VB] = Array.from({ length: 12 }, (_, i) => i);
  const [n, i, j, b, dn, sn, di, si, dj, sj] = Array.from({ length: 10 }, () => f.local(I32));
  f.get(DST).set(dn);
  f.get(SRC).set(sn);
  f.for(n, () => f.i32(0), () => f.get(N), () => {
    f.get(dn).set(di);
    f.get(sn).set(si);
    f.for(i, () => f.i32(0), () => f.get(I), () => {
      f.get(di).set(dj);
      f.get(si).set(sj);
      f.for(j, () => f.i32(0), () => f.get(J), () => {
        f.for(b, () => f.i32(0), () => f.get(VB), () => {
          f.get(dj).get(b).add().get(sj).get(b).add().v128load().v128store();
        }, 16);
        f.get(dj).get(DJ).add().set(dj);
        f.get(sj).get(SJ).add().set(sj);
      });
      f.get(di).get(DI).add().set(di);
      f.get(si).get(SI).add().set(si);
    });
    f.get(dn).get(DN).add().set(dn);
    f.get(sn).get(SN).add().set(sn);
  });
  return f;
}

const compiled = new Map<boolean, WebAssembly.Module | null>();
const instances = new WeakMap<WebAssembly.Memory, SimdKernels>();

/** The kernel module, for a shared or an unshared memory import (null when this engine cannot compile it). */
function compile(shared: boolean): WebAssembly.Module | null {
  const hit = compiled.get(shared);
  if (hit !== undefined) return hit;
  let mod: WebAssembly.Module | null = null;
  try {
    const bytes = assemble([
      depthwiseFn('filter'), depthwiseFn('input'), depthwiseFn('forward'), depthwiseGatherFn('forward'), depthwiseGatherFn('input'),
      poolGradFn('max'), poolGradFn('avg'), affineFn(), bnGradApplyFn(),
      pwForwardFn(), pwForwardFn(true), pwFilterFn(), wsumFn(), wdotFn(), scaleFn(), reluFn(), reluGradFn(), copyRowsFn(), bnStats64Fn('forward'), bnStats64Fn('grad'), copy3Fn(),
    ], shared);
    mod = new WebAssembly.Module(bytes as Uint8Array<ArrayBuffer>);
  } catch (err) {
    if (process.env.NAS_KERNELS_DEBUG) console.warn('nas kernels: SIMD module unavailable:', err);
  }
  compiled.set(shared, mod);
  return mod;
}

/** The backend's WebAssembly.Memory: exported by the single-threaded build, imported (shared) by the threaded one. */
export function backendMemory(backend: WasmBackendLike): WebAssembly.Memory | undefined {
  const mem = backend.wasm.asm?.memory ?? backend.wasm.wasmMemory;
  return mem instanceof WebAssembly.Memory ? mem : undefined;
}

/** The SIMD kernels for this wasm backend, or undefined (no SIMD support, or NAS_NO_SIMD=1 at first use). */
let noSimd: boolean | undefined;

export function simdFor(backend: WasmBackendLike): SimdKernels | undefined {
  // NAS_NO_SIMD is read once (process.env lookups are slow, and this runs for every kernel call)
  noSimd ??= process.env.NAS_NO_SIMD === '1';
  if (noSimd) return undefined;
  const mem = backendMemory(backend);
  if (!mem) return undefined;
  const hit = instances.get(mem);
  if (hit) return hit;
  const shared = typeof SharedArrayBuffer !== 'undefined' && mem.buffer instanceof SharedArrayBuffer;
  const mod = compile(shared);
  if (!mod) return undefined;
  const inst = new WebAssembly.Instance(mod, { env: { mem } });
  // helper threads only on a shared memory (the threaded tfjs build); otherwise every call runs here
  const threads = shared ? kernelThreads() : 1;
  const pool = threads > 1 ? new KernelPool(threads, mod, mem, PARALLEL_KERNELS) : undefined;
  const k = splitKernels(inst.exports as unknown as RawKernels, pool);
  instances.set(mem, k);
  return k;
}
