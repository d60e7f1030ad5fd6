// Output-stationary ("gather") depthwise kernels: each output vector is summed over its taps in registers and
// stored once, instead of the scatter form's load-add-store of the output per tap (simd.ts depthwiseFn). The output is
// written, not accumulated, so it needs no zeroing pass.
//
// Bit-identical to the scatter kernels: an output element starts at +0 and adds f·x per valid tap in the order the
// scatter loops reach it.
//   forward  y[n,oh,ow] = Σ f[kh,kw]·x[n, oh·s+kh·d−pt, ow·s+kw·d−pl]: taps in (kh, kw) ascending order.
//   input    dx[n,ih,iw] = Σ f[kh,kw]·dy[n, ih+pt−kh·d, iw+pl−kw·d] (stride 1 only): the scatter loops visit dy rows
//            ascending, i.e. kh DEscending, and within a row kw ascending; so do we.
// Output columns are split into a left border, an interior where every kw tap is valid (the kw loop unrolled for
// k = 3 and 5, the DARTS sizes), and a right border whose valid kw range is computed per pixel. Channels go in
// blocks of 4, 2, 1 vectors (each block's accumulators live in registers over all its taps).
// Params as the scatter kernels: (A = input-side tensor [N,H,W,C], B = output-side [N,Ho,Wo,C], filter, N, H, W, C,
// Ho, Wo, KH, KW, s, d, pt, pl). forward writes B from A; input writes A from B.
import { Fn, I32, V128 } from './wasm-asm.js';

export function depthwiseGatherFn(mode: 'forward' | 'input'): Fn {
  const fwd = mode === 'forward';
  const f = new Fn(fwd ? 'dwForwardGather' : 'dwInputGather', new Array<number>(15).fill(I32));
  const [A, B, Wt, N, H, W, C, HO, WO, KH, KW, S, D, PT, PL] = Array.from({ length: 15 }, (_, i) => i);
  const L = () => f.local(I32);
  const [n, r, c, C4, dC4, rowStep, wRowStep, srcRowBytes, outRowBytes, base, khLo, khHi, cntH, t, srcRow,
    wRow, outP, baseC, kwLo, kwHi, cntW, cA, cB, cb, xr, wr, xp, wp, kc, wc, colStep, zero, outRows, outCols,
    srcRows, srcCols, OUT, SRC, kcnt] = Array.from({ length: 39 }, L);
  const acc = Array.from({ length: 8 }, () => f.local(V128));
  const fv = Array.from({ length: 2 }, () => f.local(V128));
  const [cg, cg4, op1, op2, op3] = Array.from({ length: 5 }, L);

  // dims: forward out = (Ho, Wo) from src (H, W); input out = (H, W) from src (Ho, Wo)
  f.get(fwd ? B : A).set(OUT);
  f.get(fwd ? A : B).set(SRC);
  f.get(fwd ? HO : H).set(outRows);
  f.get(fwd ? WO : W).set(outCols);
  f.get(fwd ? H : HO).set(srcRows);
  f.get(fwd ? W : WO).set(srcCols);
  f.i32(0).set(zero);
  f.get(C).i32(4).mul().set(C4);
  f.get(D).get(C4).mul().set(dC4);
  f.get(srcCols).get(C4).mul().set(srcRowBytes);
  f.get(outCols).get(C4).mul().set(outRowBytes);
  // the source row pointer moves down by d rows per tap in both modes (input walks kh downwards)
  f.get(D).get(srcRowBytes).mul().set(rowStep);
  f.get(KW).get(C4).mul().set(wRowStep);
  if (!fwd) f.i32(0).get(wRowStep).sub().set(wRowStep);
  // per kw tap: forward +d columns, input −d columns
  if (fwd) f.get(dC4).set(colStep);
  else f.i32(0).get(dC4).sub().set(colStep);

  // source byte offsets of the 2nd..4th pixel of a 4-pixel group (s columns apart; s = 1 for input)
  f.get(S).get(C4).mul().tee(op1).tee(op2).set(op3);
  f.get(op2).get(op1).add().set(op2);
  f.get(op3).get(op2).add().set(op3);
  // interior output columns [cA, cB): every kw tap in range
  if (fwd) {
    // ow·s − pl ≥ 0 and ow·s − pl + (KW−1)·d ≤ W − 1
    f.get(PL).get(S).add().i32(1).sub().get(S).divU().set(t);
    f.minS(cA, outCols, t);
    f.get(srcCols).i32(1).sub().get(KW).i32(1).sub().get(D).mul().sub().get(PL).add().set(t);
    f.get(t).get(S).divU().i32(1).add().set(cB);
    f.minS(cB, outCols, cB);
    f.get(cA).get(cB).get(t).i32(0).ltS().select().set(cB);
  } else {
    // iw + pl − (KW−1)·d ≥ 0 and iw + pl ≤ Wo − 1
    f.get(KW).i32(1).sub().get(D).mul().get(PL).sub().set(t);
    f.maxS(cA, zero, t);
    f.minS(cA, outCols, cA);
    f.get(srcCols).get(PL).sub().set(t);
    f.minS(cB, outCols, t);
  }
  f.maxS(cB, cA, cB);

  /** One output pixel at outP: Σ over cntH rows from (srcRow, wRow) and cntW taps from column byte offset kc / wc. */
  const pixel = (unrolled: number) => {
    const block = (V: number) => {
      for (let v = 0; v < V; v++) f.v128zero().set(acc[v]);
      f.get(cntH).i32(0).gtS();
      f.if(() => {
        f.get(srcRow).get(kc).add().get(cb).add().set(xr);
        f.get(wRow).get(wc).add().get(cb).add().set(wr);
        f.get(cntH).set(t);
        f.countdown(t, () => {
          f.get(xr).set(xp);
          f.get(wr).set(wp);
          const tap = () => {
            for (let v = 0; v < V; v++) {
              f.get(acc[v]).get(wp).v128load(16 * v).get(xp).v128load(16 * v).f32x4mul().f32x4add().set(acc[v]);
            }
          };
          const step = () => {
            f.get(xp).get(colStep).add().set(xp);
            f.get(wp).get(C4).add().set(wp);
          };
          if (unrolled > 0) {
            for (let k = 0; k < unrolled; k++) {
              tap();
              if (k < unrolled - 1) step();
            }
          } else {
            f.get(cntW).i32(0).gtS();
            f.if(() => {
              f.get(cntW).set(kcnt);
              f.countdown(kcnt, () => { tap(); step(); });
            });
          }
          f.get(xr).get(rowStep).add().set(xr);
          f.get(wr).get(wRowStep).add().set(wr);
        });
      });
      for (let v = 0; v < V; v++) f.get(outP).get(cb).add().get(acc[v]).v128store(16 * v);
      f.get(cb).i32(16 * V).add().set(cb);
    };
    f.vectorBlocks(cb, C4, [4, 2, 1], block);
  };

  /** kc, wc, cntW for the output column c (border: valid kw range computed here). */
  const columnTaps = (interior: boolean) => {
    if (fwd) f.get(c).get(S).mul().get(PL).sub().set(baseC);
    else f.get(c).get(PL).add().set(baseC);
    if (interior) {
      f.i32(0).set(kwLo);
      f.get(KW).set(cntW);
    } else if (fwd) {
      // kwLo = baseC < 0 ? ceil(−baseC / d) : 0; kwHi = min(KW, floor((W−1−baseC)/d) + 1), 0 when W−1−baseC < 0
      f.get(D).i32(1).sub().get(baseC).sub().get(D).divU().i32(0).get(baseC).i32(0).ltS().select().set(kwLo);
      f.get(srcCols).i32(1).sub().get(baseC).sub().set(t);
      f.get(t).get(D).divU().i32(1).add().set(kwHi);
      f.minS(kwHi, KW, kwHi);
      f.i32(0).get(kwHi).get(t).i32(0).ltS().select().set(kwHi);
      f.get(kwHi).get(kwLo).sub().set(cntW);
    } else {
      // kwHi = min(KW, floor(baseC/d) + 1) (baseC ≥ 0); kwLo = ceil((baseC − Wo + 1)/d) when positive, else 0
      f.get(baseC).get(D).divU().i32(1).add().set(kwHi);
      f.minS(kwHi, KW, kwHi);
      f.get(baseC).get(srcCols).sub().i32(1).add().set(t);
      f.get(t).get(D).add().i32(1).sub().get(D).divU().i32(0).get(t).i32(0).gtS().select().set(kwLo);
      f.get(kwHi).get(kwLo).sub().set(cntW);
    }
    // first tap's source column (bytes from the row start) and filter column
    f.get(baseC).get(kwLo).get(D).mul();
    if (fwd) f.add();
    else f.sub();
    f.get(C4).mul().set(kc);
    f.get(kwLo).get(C4).mul().set(wc);
  };

  const columns = (from: number, to: number, interior: boolean, unrolled: number) => {
    f.for(c, () => f.get(from), () => f.get(to), () => {
      f.get(OUT).get(n).get(outRows).mul().get(r).add().get(outRowBytes).mul().add().get(c).get(C4).mul().add().set(outP);
      columnTaps(interior);
      pixel(unrolled);
    });
  };

  /**
   * Interior columns four at a time: per tap, the filter vectors are loaded once for the four pixels (their
   * source columns op1..op3 bytes apart), 4 × V accumulators. Leftover interior columns go one at a time.
   */
  const interiorColumns = (unrolled: number) => {
    f.get(cA).set(cg);
    f.block(() => f.loop(() => {
      f.get(cg).i32(4).add().tee(cg4).get(cB).gtS().brIf(1);
      f.get(cg).set(c);
      f.get(OUT).get(n).get(outRows).mul().get(r).add().get(outRowBytes).mul().add().get(c).get(C4).mul().add().set(outP);
      columnTaps(true);
      const block = (V: number) => {
        for (let i = 0; i < 4 * V; i++) f.v128zero().set(acc[i]);
        f.get(cntH).i32(0).gtS();
        f.if(() => {
          f.get(srcRow).get(kc).add().get(cb).add().set(xr);
          f.get(wRow).get(cb).add().set(wr);
          f.get(cntH).set(t);
          f.countdown(t, () => {
            f.get(xr).set(xp);
            f.get(wr).set(wp);
            const tap = () => {
              for (let v = 0; v < V; v++) f.get(wp).v128load(16 * v).set(fv[v]);
              const offs = [undefined, op1, op2, op3];
              for (let q = 0; q < 4; q++) {
                for (let v = 0; v < V; v++) {
                  f.get(acc[q * V + v]).get(fv[v]).get(xp);
                  if (q > 0) f.get(offs[q]!).add();
                  f.v128load(16 * v).f32x4mul().f32x4add().set(acc[q * V + v]);
                }
              }
              f.get(xp).get(colStep).add().set(xp);
              f.get(wp).get(C4).add().set(wp);
            };
            if (unrolled > 0) for (let k = 0; k < unrolled; k++) tap();
            else {
              f.get(KW).set(kcnt);
              f.countdown(kcnt, tap);
            }
            f.get(xr).get(rowStep).add().set(xr);
            f.get(wr).get(wRowStep).add().set(wr);
          });
        });
        f.get(outP).get(cb).add().set(wp);
        for (let q = 0; q < 4; q++) {
          for (let v = 0; v < V; v++) f.get(wp).get(acc[q * V + v]).v128store(16 * v);
          if (q < 3) f.get(wp).get(C4).add().set(wp);
        }
        f.get(cb).i32(16 * V).add().set(cb);
      };
      f.vectorBlocks(cb, C4, [2, 1], block);
      f.get(cg4).set(cg);
      f.br(0);
    }));
    columns(cg, cB, true, unrolled);
  };

  f.for(n, () => f.i32(0), () => f.get(N), () => {
    f.for(r, () => f.i32(0), () => f.get(outRows), () => {
      if (fwd) {
        // source rows base + kh·d, kh ascending, within [0, H)
        f.get(r).get(S).mul().get(PT).sub().set(base);
        f.get(D).i32(1).sub().get(base).sub().get(D).divU().i32(0).get(base).i32(0).ltS().select().set(khLo);
        f.get(srcRows).i32(1).sub().get(base).sub().set(t);
        f.get(t).get(D).divU().i32(1).add().set(khHi);
        f.minS(khHi, KH, khHi);
        f.i32(0).get(khHi).get(t).i32(0).ltS().select().set(khHi);
        // first row: kh = khLo
        f.get(SRC).get(n).get(srcRows).mul().get(base).add().get(khLo).get(D).mul().add().get(srcRowBytes).mul().add().set(srcRow);
        f.get(Wt).get(khLo).get(wRowStep).mul().add().set(wRow);
      } else {
        // source rows base − kh·d, kh descending from khHi − 1 to khLo, within [0, Ho)
        f.get(r).get(PT).add().set(base);
        f.get(base).get(D).divU().i32(1).add().set(khHi);
        f.minS(khHi, KH, khHi);
        f.get(base).get(srcRows).sub().i32(1).add().set(t);
        f.get(t).get(D).add().i32(1).sub().get(D).divU().i32(0).get(t).i32(0).gtS().select().set(khLo);
        f.get(SRC).get(n).get(srcRows).mul().get(base).add().get(khHi).i32(1).sub().get(D).mul().sub().get(srcRowBytes).mul().add().set(srcRow);
        // wRowStep is −KW·C4 here: the first filter row is khHi − 1
        f.get(Wt).get(khHi).i32(1).sub().get(KW).mul().get(C4).mul().add().set(wRow);
      }
      f.get(khHi).get(khLo).sub().set(cntH);
      columns(zero, cA, false, 0);
      // interior: unrolled for k = 3 and 5, a kw loop otherwise
      f.get(KW).i32(3).ne().eqz();
      f.if(() => interiorColumns(3));
      f.get(KW).i32(5).ne().eqz();
      f.if(() => interiorColumns(5));
      f.get(KW).i32(3).ne().get(KW).i32(5).ne().and();
      f.if(() => interiorColumns(0));
      columns(cB, outCols, false, 0);
    });
  });
  return f;
}
