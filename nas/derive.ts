// Discrete derivation from architecture weights: the DARTS top-2 rule (used by DARTS, PC-DARTS and
// EnTranNAS' Transit-cells), plus small numeric helpers shared by the methods.
import type { OpName } from './config.js';
import type { CellGenotype, Pair } from './genotype.js';
import { edgeIndex } from './cell.js';

/** Row-wise softmax of a [rows][cols] matrix, with temperature. */
export function softmaxRows(m: number[][], tau = 1): number[][] {
  return m.map((row) => {
    const mx = Math.max(...row.map((v) => v / tau));
    const e = row.map((v) => Math.exp(v / tau - mx));
    const s = e.reduce((a, b) => a + b, 0);
    return e.map((v) => v / s);
  });
}

export function toRows(data: ArrayLike<number>, cols: number): number[][] {
  const rows: number[][] = [];
  for (let r = 0; r < data.length / cols; r++) rows.push(Array.from({ length: cols }, (_, c) => data[r * cols + c]));
  return rows;
}

/**
 * DARTS rule: for each node, score each incoming edge by its largest non-`none` weight, keep the 2 best
 * edges (stable order on ties), and on each the arg-max non-`none` op. probs: [edges][ops].
 */
export function deriveTop2(probs: number[][], ops: OpName[], nodes: number): CellGenotype {
  const out: Pair[][] = [];
  for (let j = 0; j < nodes; j++) {
    const scored: Array<{ i: number; score: number; k: number }> = [];
    for (let i = 0; i < j + 2; i++) {
      const row = probs[edgeIndex(j, i)];
      let best = -1;
      let bestK = -1;
      row.forEach((p, k) => {
        if (ops[k] !== 'none' && p > best) {
          best = p;
          bestK = k;
        }
      });
      scored.push({ i, score: best, k: bestK });
    }
    const kept = [...scored].sort((a, b) => b.score - a.score).slice(0, Math.min(2, scored.length));
    out.push(kept.map(({ i, k }) => [ops[k], i] as Pair));
  }
  return { nodes: out, concat: Array.from({ length: nodes }, (_, j) => j + 2) };
}
