// The history in github-action-benchmark's custom format (benchmark-action/github-action-benchmark, tool
// `customSmallerIsBetter` / `customBiggerIsBetter`): a JSON array of { name, unit, value, range?, extra? }, one item
// per measure of one history entry, so users can chart our nightly history with that action.
import { entryMeasures, type HistoryEntry } from './history.js';

export interface BenchmarkActionItem {
  name: string;
  unit: string;
  value: number;
  /** "± <95% margin of the mean>" when the entry knows it. */
  range?: string;
  extra?: string;
}

export type BenchmarkActionTool = 'customSmallerIsBetter' | 'customBiggerIsBetter';

const sig = (v: number): string => Number(v.toPrecision(4)).toString();

/** The measures of one entry whose direction fits the tool; `left` names the measures of the other direction. */
export function benchmarkActionItems(entry: HistoryEntry, tool: BenchmarkActionTool = 'customSmallerIsBetter'): { items: BenchmarkActionItem[]; left: string[] } {
  const want = tool === 'customSmallerIsBetter' ? 'lower' : 'higher';
  const items: BenchmarkActionItem[] = [];
  const left: string[] = [];
  for (const m of [...entryMeasures(entry).values()].sort((a, b) => (a.name < b.name ? -1 : 1))) {
    if (m.better !== want) {
      left.push(m.name);
      continue;
    }
    const item: BenchmarkActionItem = { name: m.name, unit: m.unit, value: m.median };
    if (m.moe !== undefined && Number.isFinite(m.moe)) item.range = `± ${sig(m.moe)}`;
    const lo = Math.min(...m.samples);
    const hi = Math.max(...m.samples);
    item.extra = `commit ${entry.commit} (${entry.timestamp})\nmachine class ${entry.machineClass}\nmedian of ${m.samples.length} sample(s), ${sig(lo)}..${sig(hi)} ${m.unit}`;
    items.push(item);
  }
  return { items, left };
}
