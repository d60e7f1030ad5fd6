// A row's search cost as the papers count it (device time of the warm-up and search epochs, measures.searchGpuDays)
// converted to the GPU each published cost figure was measured on (gpu-factors.ts toPaperGpu), one text per target.
import type { Target } from '../suites/targets.js';
import type { LoadedRecord } from './store.js';
import { toPaperGpu } from '../measure/gpu-factors.js';

export interface PaperGpuCost {
  /** The published figure it sits beside. */
  target: number;
  hardware: string;
  /** Searches behind the published figure (DARTS' 1.5 / 4.0 count 4). */
  searches: number;
  value?: number;
  text: string;
}

/** Mean search-epoch device-days of the ok search records on one device class, converted per cost target. */
export function searchCostOnPaperGpu(search: LoadedRecord[], targets: Target[]): PaperGpuCost[] {
  const ok = search.filter((r) => r.record.status === 'ok' && r.record.measures);
  if (ok.length === 0) return [];
  const classes = [...new Set(ok.map((r) => r.record.measures!.deviceClass))];
  const days = ok.map((r) => r.record.measures!.searchGpuDays ?? r.record.measures!.gpuDays);
  const mean = days.reduce((a, b) => a + b, 0) / days.length;
  const epochsOnly = ok.every((r) => r.record.measures!.searchGpuDays !== undefined);
  return targets.filter((t) => t.metric === 'searchGpuDays').map((t) => {
    const searches = t.searches ?? 1;
    const base = { target: t.value, hardware: t.hardware, searches };
    if (classes.length !== 1) return { ...base, text: `no converted figure: searches ran on several device classes (${classes.join(', ')})` };
    const c = toPaperGpu(mean * searches, classes[0], t.hardware);
    const basis = `${epochsOnly ? 'search epochs' : 'whole phase (older records)'}${searches > 1 ? `, × ${searches} searches as the figure counts` : ''}`;
    return { ...base, ...(c.value !== undefined ? { value: c.value } : {}), text: `${c.text} (${basis}; paper ${t.value})` };
  });
}
