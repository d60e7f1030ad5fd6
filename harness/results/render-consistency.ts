// The markdown section on search→evaluation consistency and search cost per row: the consistency gap with its
// interval over seeds, Kendall τ / Spearman ρ with bootstrap intervals, search-epoch seconds and peak memory, each
// row's ratio to the suite's DARTS row, and our search cost converted to the paper's GPU.
import type { TableRow } from './tables.js';
import { ratioCi, type MeanCi } from './consistency-figures.js';
import type { Correlation } from './rank-correlation.js';

const DASH = '—';

function mci(m: MeanCi | undefined, digits: number, scale = 1): string {
  if (!m) return DASH;
  const moe = Number.isFinite(m.moe95) ? ` ± ${(m.moe95 * scale).toFixed(digits)}` : '';
  return `${(m.mean * scale).toFixed(digits)}${moe} (${m.n})`;
}

function corr(c: Correlation | undefined): string {
  if (!c || !Number.isFinite(c.value)) return DASH;
  return `${c.value.toFixed(2)}${c.ci95 ? ` [${c.ci95[0].toFixed(2)}, ${c.ci95[1].toFixed(2)}]` : ''} (${c.n})`;
}

function ratio(a: MeanCi | undefined, b: MeanCi | undefined): string {
  const r = ratioCi(a, b);
  if (!r) return DASH;
  return `${r.ratio.toFixed(2)}${r.ci95 ? ` [${r.ci95[0].toFixed(2)}, ${r.ci95[1].toFixed(2)}]` : ''}`;
}

/** Lines for one suite's rows; empty when no row has a consistency figure or a converted cost. */
export function consistencyLines(rows: TableRow[]): string[] {
  const withGap = rows.filter((r) => r.ours.consistency.gap !== undefined);
  const out: string[] = [];
  if (withGap.length > 0) {
    const darts = withGap.find((r) => r.method === 'darts-1st');
    out.push(
      'Consistency and cost (mean ± 95 % t interval over seeds (n); τ, ρ with bootstrap 95 % intervals; gap = super-net − derived net, ' +
      'percentage points, held-out data with re-estimated BN; search seconds = warm-up and search epochs only):', '',
      `| row | gap pp | Kendall τ derived-at-search vs test | Spearman ρ | search-epoch s | peak RSS MB | ÷ ${darts ? `\`${darts.rowId}\`` : 'DARTS'}: search s | ÷ DARTS: peak RSS |`,
      '|---|---|---|---|---|---|---|---|',
    );
    for (const r of withGap) {
      const c = r.ours.consistency;
      const d = darts?.ours.consistency;
      out.push(`| \`${r.rowId}\` | ${mci(c.gap, 1)} | ${corr(c.kendall)} | ${corr(c.spearman)} | ${mci(c.searchEpochSeconds, 1)} | ` +
        `${mci(c.searchPeakRssBytes, 0, 1 / 2 ** 20)} | ${d ? ratio(c.searchEpochSeconds, d.searchEpochSeconds) : DASH} | ` +
        `${d ? ratio(c.searchPeakRssBytes, d.searchPeakRssBytes) : DASH} |`);
    }
    out.push('');
  }
  const costs = rows.filter((r) => r.ours.searchOnPaperGpu.length > 0);
  if (costs.length > 0) {
    out.push("Our search cost on the paper's GPU:", '');
    for (const r of costs) for (const c of r.ours.searchOnPaperGpu) out.push(`- \`${r.rowId}\`: ${c.text}`);
    out.push('');
  }
  return out;
}
