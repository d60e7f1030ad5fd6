// Chart specs (Vega-Lite) for the HTML report, and their rendering to SVG with vega/vega-lite in Node, so the page
// needs no script and no network. The harness writes specs only: every picture below is a Vega-Lite description
// of rows from harness/report/adapter.ts; the page keeps each spec next to its SVG so a reader can re-plot it.
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import type {
  AccuracyPoint, AlphaPoint, CostPoint, DstPoint, GapPoint, GenotypeChangePoint, LossPoint,
} from './adapter.js';
import type { TrendPoint, TrendChange, TrendDecision } from './trends.js';

export type Spec = TopLevelSpec;

const WIDTH = 460;
const HEIGHT = 200;
const base = { $schema: 'https://vega.github.io/schema/vega-lite/v6.json', background: 'white', config: { font: 'Helvetica, Arial, sans-serif', view: { stroke: '#ddd' } } } as const;

/** Loss traces longer than this are shown as bucket means (the tidy data and records keep every step). */
export const MAX_LINE_POINTS = 800;

/** Bucket means of each series (key fn) so no series has more than `max` points. */
export function downsample<T extends { step: number; value: number }>(points: T[], key: (p: T) => string, max = MAX_LINE_POINTS): { points: T[]; bucket: number } {
  const groups = new Map<string, T[]>();
  for (const p of points) groups.set(key(p), [...(groups.get(key(p)) ?? []), p]);
  const longest = Math.max(0, ...[...groups.values()].map((g) => g.length));
  const bucket = Math.max(1, Math.ceil(longest / max));
  if (bucket === 1) return { points, bucket };
  const out: T[] = [];
  for (const g of groups.values()) {
    for (let i = 0; i < g.length; i += bucket) {
      const chunk = g.slice(i, i + bucket);
      out.push({ ...chunk[chunk.length - 1], value: chunk.reduce((a, p) => a + p.value, 0) / chunk.length });
    }
  }
  return { points: out, bucket };
}

export function lossSpec(points: LossPoint[], title: string): Spec {
  return {
    ...base, title, width: WIDTH, height: HEIGHT,
    data: { values: points.map((p) => ({ seed: p.seed, loss: p.loss, step: p.step, epoch: p.epoch, value: round(p.value) })) },
    mark: { type: 'line', strokeWidth: 1.5, clip: true },
    encoding: {
      x: { field: 'step', type: 'quantitative', title: 'step' },
      y: { field: 'value', type: 'quantitative', title: 'loss', scale: { zero: false } },
      color: { field: 'seed', type: 'nominal', title: 'seed' },
      strokeDash: { field: 'loss', type: 'nominal', title: 'loss', scale: { domain: ['weights', 'architecture'], range: [[1, 0], [4, 2]] } },
      tooltip: [{ field: 'seed' }, { field: 'loss' }, { field: 'step' }, { field: 'epoch' }, { field: 'value', format: '.4f' }],
    },
  } as Spec;
}

export function accuracySpec(points: AccuracyPoint[], title: string): Spec {
  return {
    ...base, title, width: WIDTH, height: HEIGHT,
    data: { values: points },
    mark: { type: 'line', point: { filled: true, size: 70 } },
    encoding: {
      x: { field: 'epoch', type: 'quantitative', title: 'epoch', axis: { tickMinStep: 1, format: 'd' } },
      y: { field: 'value', type: 'quantitative', title: 'validation accuracy %', scale: { zero: false }, axis: { format: '.1f' } },
      color: { field: 'net', type: 'nominal', title: 'net', scale: { domain: ['super-net', 'derived'] } },
      detail: { field: 'seed', type: 'nominal' },
      shape: { field: 'seed', type: 'nominal', title: 'seed' },
      tooltip: [{ field: 'net' }, { field: 'seed' }, { field: 'epoch' }, { field: 'value', format: '.1f' }],
    },
  } as Spec;
}

/** Config of the dense charts (α heatmaps and small multiples): no ARIA labels and no grid, which are most of their SVG. */
const dense = { ...base.config, aria: false, axis: { grid: false } };

const round = (v: number, d = 4): number => Number(v.toFixed(d));
/** The fields an α chart uses (the spec embeds its data; run keys are in the chart's title). */
const slimAlpha = (points: AlphaPoint[]) =>
  points.map((p) => ({ cell: p.cell, epoch: p.epoch, edge: p.edge, edgeIndex: p.edgeIndex, op: p.op, weight: round(p.weight), tau: round(p.tau, 3) }));

/** Accuracy at the end of search only (what the records hold): super-net and derived net per seed, joined by a rule
 * whose length is the consistency gap. */
export function accuracyEndSpec(points: AccuracyPoint[], title: string): Spec {
  const values = points.map((p) => ({ seed: `seed ${p.seed}`, net: p.net, value: round(p.value, 2) }));
  const y = { field: 'seed', type: 'nominal', title: null };
  const x = { field: 'value', type: 'quantitative', title: 'validation accuracy % at the end of search', scale: { zero: false, padding: 20 }, axis: { format: '.1f' } };
  return {
    ...base, title, width: WIDTH - 60, height: { step: 34 },
    data: { values },
    layer: [
      { mark: { type: 'line', color: '#bbb', strokeWidth: 3 }, encoding: { x, y, detail: { field: 'seed' } } },
      {
        mark: { type: 'point', filled: true, size: 110, opacity: 0.9 },
        encoding: { x, y, color: { field: 'net', type: 'nominal', title: 'net', scale: { domain: ['super-net', 'derived'] } }, shape: { field: 'net', type: 'nominal', scale: { domain: ['super-net', 'derived'], range: ['circle', 'diamond'] } } },
      },
      { mark: { type: 'text', dy: -12, fontSize: 10 }, encoding: { x, y, text: { field: 'value', type: 'quantitative', format: '.1f' }, color: { field: 'net', type: 'nominal' } } },
    ],
  } as Spec;
}

/** Final α as a heatmap: edges × ops, one panel per cell type. */
export function alphaHeatmapSpec(points: AlphaPoint[], title: string): Spec {
  return {
    ...base, config: dense, title,
    data: { values: slimAlpha(points) },
    facet: { column: { field: 'cell', type: 'nominal', title: null, sort: ['normal', 'reduce'] } },
    spec: {
      width: 240, height: 16 * new Set(points.map((p) => p.edgeIndex)).size,
      layer: [
        {
          mark: 'rect',
          encoding: {
            x: { field: 'op', type: 'nominal', title: null, axis: { labelAngle: -40 }, sort: null },
            y: { field: 'edge', type: 'nominal', title: null, sort: { field: 'edgeIndex', op: 'min' } },
            color: { field: 'weight', type: 'quantitative', title: 'softmax(α/τ)', scale: { scheme: 'blues', domain: [0, 1] } },
            tooltip: [{ field: 'cell' }, { field: 'edge' }, { field: 'op' }, { field: 'weight', format: '.3f' }, { field: 'tau', title: 'τ', format: '.2f' }],
          },
        },
        {
          transform: [{ filter: 'datum.weight >= 0.2' }],
          mark: { type: 'text', fontSize: 8 },
          encoding: {
            x: { field: 'op', type: 'nominal', sort: null },
            y: { field: 'edge', type: 'nominal', sort: { field: 'edgeIndex', op: 'min' } },
            text: { field: 'weight', type: 'quantitative', format: '.2f' },
            color: { condition: { test: 'datum.weight > 0.5', value: 'white' }, value: 'black' },
          },
        },
      ],
    },
  } as Spec;
}

/** α per epoch as small multiples: one panel per edge, one line per op. */
export function alphaEpochsSpec(points: AlphaPoint[], title: string): Spec {
  return {
    ...base, config: { ...dense, axis: { grid: true, gridColor: '#eee' } }, title,
    data: { values: slimAlpha(points) },
    facet: { field: 'edge', type: 'nominal', title: null, sort: { field: 'edgeIndex', op: 'min' } },
    columns: 7,
    spec: {
      width: 90, height: 70,
      mark: { type: 'line', strokeWidth: 1.2 },
      encoding: {
        x: { field: 'epoch', type: 'quantitative', title: null, axis: { tickMinStep: 1 } },
        y: { field: 'weight', type: 'quantitative', title: null, scale: { domain: [0, 1] } },
        color: { field: 'op', type: 'nominal', title: 'op', scale: { scheme: 'tableau10' } },
        tooltip: [{ field: 'edge' }, { field: 'op' }, { field: 'epoch' }, { field: 'weight', format: '.3f' }],
      },
    },
  } as Spec;
}

/** DST: kept (op, input) pairs per node per epoch, and t_j per node, per cell type. */
export function dstSpec(points: DstPoint[], title: string): Spec {
  const panel = (field: 'keptPairs' | 'threshold', ytitle: string) => ({
    data: { values: points },
    facet: { column: { field: 'cell', type: 'nominal', title: null, sort: ['normal', 'reduce'] } },
    spec: {
      width: 200, height: 140,
      mark: { type: 'line', point: true },
      encoding: {
        x: { field: 'epoch', type: 'quantitative', axis: { tickMinStep: 1 } },
        y: { field, type: 'quantitative', title: ytitle, scale: field === 'threshold' ? { zero: false } : {} },
        color: { field: 'node', type: 'nominal', title: 'node' },
        detail: { field: 'seed', type: 'nominal' },
        tooltip: [{ field: 'cell' }, { field: 'node' }, { field: 'seed' }, { field: 'epoch' }, { field, format: field === 'threshold' ? '.3f' : 'd' }],
      },
    },
  });
  return { ...base, title, vconcat: [panel('keptPairs', 'kept pairs'), panel('threshold', 't_j = sigmoid(β_j)')] } as Spec;
}

export function genotypeChangesSpec(points: GenotypeChangePoint[], title: string): Spec {
  return {
    ...base, title, width: WIDTH, height: 160,
    data: { values: points.map((p) => ({ ...p, run: `${p.label} seed ${p.seed}` })) },
    mark: { type: 'line', point: { filled: true } },
    encoding: {
      x: { field: 'epoch', type: 'quantitative', axis: { tickMinStep: 1 } },
      y: { field: 'changes', type: 'quantitative', title: 'pairs changed since the last epoch' },
      color: { field: 'label', type: 'nominal', title: 'row' },
      detail: { field: 'seed', type: 'nominal' },
      tooltip: [{ field: 'run' }, { field: 'epoch' }, { field: 'changes' }, { field: 'stable' }],
    },
  } as Spec;
}

/** Cost vs error, one panel per error metric (CIFAR test error and ImageNet top-1 do not share an axis); points carry
 * their number `n` in the table under the chart (labels of clustered points would overlap). */
export function costSpec(points: Array<CostPoint & { n: number }>, title: string): Spec {
  return {
    ...base, title,
    data: { values: points },
    facet: { column: { field: 'metric', type: 'nominal', title: null } },
    resolve: { scale: { y: 'independent' } },
    spec: { width: 340, height: 240, layer: [
      {
        mark: { type: 'point', filled: true, size: 90 },
        encoding: {
          x: { field: 'costDays', type: 'quantitative', title: 'search cost, days (see normalisation below)', scale: { type: 'log' } },
          y: { field: 'error', type: 'quantitative', title: 'error %', scale: { zero: false } },
          color: { field: 'source', type: 'nominal', title: 'source', scale: { domain: ['ours', 'paper'], range: ['#d62728', '#1f77b4'] } },
          shape: { field: 'source', type: 'nominal' },
          tooltip: [{ field: 'source' }, { field: 'suite' }, { field: 'label' }, { field: 'error', format: '.2f' }, { field: 'costDays', format: '.3g' }, { field: 'costKind' }],
        },
      },
      {
        mark: { type: 'text', align: 'left', dx: 6, dy: -7, fontSize: 10 },
        encoding: {
          x: { field: 'costDays', type: 'quantitative', scale: { type: 'log' } },
          y: { field: 'error', type: 'quantitative' },
          text: { field: 'n' },
          color: { field: 'source', type: 'nominal' },
        },
      },
    ] },
  } as Spec;
}

export function gapSpec(points: GapPoint[], title: string): Spec {
  const values = points.map((p) => ({ ...p, name: `${p.label} (${p.suite})` }));
  return {
    ...base, title, width: WIDTH, height: { step: 28 },
    data: { values },
    layer: [
      { mark: { type: 'rule', color: '#888' }, encoding: { x: { datum: 0 } } },
      {
        mark: { type: 'errorbar', ticks: true },
        encoding: {
          y: { field: 'name', type: 'nominal', title: null, axis: { labelLimit: 320 } },
          x: { field: 'low', type: 'quantitative', title: 'super-net − derived validation accuracy, percentage points (95% t-interval)' },
          x2: { field: 'high' },
        },
      },
      {
        mark: { type: 'point', filled: true, size: 80, color: '#d62728' },
        encoding: {
          y: { field: 'name', type: 'nominal' },
          x: { field: 'mean', type: 'quantitative' },
          tooltip: [{ field: 'name' }, { field: 'n' }, { field: 'mean', format: '.2f' }, { field: 'low', format: '.2f' }, { field: 'high', format: '.2f' }],
        },
      },
    ],
  } as Spec;
}

/** One measure's trend: median per commit with the samples' range, the detected change points and the gate's decisions. */
export function trendSpec(points: TrendPoint[], changes: TrendChange[], decisions: TrendDecision[], title: string, unit: string): Spec {
  const order = points.map((p) => p.commit);
  const x = { field: 'commit', type: 'ordinal', sort: order, title: 'commit (oldest first)', axis: { labelAngle: -45 } };
  const layers: unknown[] = [
    { data: { values: points }, mark: { type: 'rule', color: '#9ecae1', strokeWidth: 3 }, encoding: { x, y: { field: 'min', type: 'quantitative' }, y2: { field: 'max' } } },
    {
      data: { values: points }, mark: { type: 'line', color: '#3182bd', point: { color: '#3182bd' } },
      encoding: {
        x, y: { field: 'median', type: 'quantitative', title: `median (${unit})`, scale: { zero: false } },
        tooltip: [{ field: 'commit' }, { field: 'timestamp' }, { field: 'median', format: '.4g' }, { field: 'min', format: '.4g' }, { field: 'max', format: '.4g' }, { field: 'n' }],
      },
    },
  ];
  if (changes.length > 0) {
    layers.push({
      data: { values: changes }, mark: { type: 'rule', strokeDash: [4, 3], strokeWidth: 1.5 },
      encoding: { x, color: { field: 'kind', type: 'nominal', title: 'change point', scale: { domain: ['regression', 'improvement'], range: ['#d62728', '#2ca02c'] } },
        tooltip: [{ field: 'commit' }, { field: 'kind' }, { field: 'ratio', format: '.3f' }] },
    });
  }
  if (decisions.length > 0) {
    layers.push({
      data: { values: decisions }, mark: { type: 'point', shape: 'triangle-up', size: 120, filled: true, yOffset: -12 },
      encoding: {
        x, y: { field: 'median', type: 'quantitative' },
        fill: { field: 'verdict', type: 'nominal', title: 'gate vs previous', scale: { domain: ['regression', 'improvement'], range: ['#d62728', '#2ca02c'] } },
        tooltip: [{ field: 'commit' }, { field: 'verdict' }, { field: 'base' }, { field: 'ratio', format: '.3f' }, { field: 'pValue', format: '.3g' }],
      },
    });
  }
  return { ...base, title, width: WIDTH, height: 180, layer: layers } as Spec;
}

/** Vega-Lite's compile warnings (e.g. about facet scales) are not the user's business: keep errors only. */
const quietLogger = {
  level: () => quietLogger, error: (...args: unknown[]) => { throw new Error(`vega-lite: ${args.join(' ')}`); },
  warn: () => quietLogger, info: () => quietLogger, debug: () => quietLogger,
} as unknown as Parameters<typeof compile>[1] extends infer O ? O extends { logger?: infer L } ? L : never : never;

/** Compile a Vega-Lite spec and render it to SVG (headless: no canvas, no network). */
export async function renderSvg(spec: Spec): Promise<string> {
  const compiled = compile(spec, { logger: quietLogger }).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none', logLevel: vega.Warn });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
