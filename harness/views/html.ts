// The HTML report: one self-contained file (styles, data and pictures inline; charts pre-rendered to SVG, so it
// opens from file:// with no script and no network). Sections: the verdict tables with each row's basis; per suite
// and row the search curves, α (final heatmap, per-epoch small multiples), the DST trace and genotype changes; the
// cost-vs-error scatter with the paper's points and the consistency gap; a drawing of every final genotype; the
// trend charts of a history directory. Each chart's Vega-Lite spec sits next to its SVG (<script type=
// "application/json" class="vega-lite-spec">) so it can be re-plotted in the Vega editor.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { htmlReportFile } from '../results/layout.js';
import { readRecords, type RecordSet } from '../results/store.js';
import { buildReport, statusText, type Report } from '../results/tables.js';
import { listSuites, loadSuite, type Suite } from '../suites/suite.js';
import { writeFileAtomicAsync } from '../../nas/util/fs.js';
import { chartData, verdictRows, type ChartData, type VerdictRow } from './adapter.js';
import {
  accuracyEndSpec, accuracySpec, alphaEpochsSpec, alphaHeatmapSpec, costSpec, downsample, dstSpec, gapSpec, genotypeChangesSpec, lossSpec,
  renderSvg, trendSpec, type Spec,
} from './charts.js';
import { cellSvgs, CELL_COLOURS } from './cell-drawing.js';
import { readTrends, type TrendSet } from './trends.js';

export interface HtmlReportOptions {
  /** Results directory (default ./results). */
  results?: string;
  /** One suite (built-in name or suite file); default every built-in suite. */
  suite?: string;
  /** Output file (default <results>/tables/report.html). */
  out?: string;
  /** A history directory for the trend charts (default <results>/history when it exists). */
  history?: string;
  generatedAt?: string;
}

export interface HtmlReport {
  html: string;
  /** Chart figures on the page. */
  charts: number;
  /** Final genotypes drawn (one figure each, with its normal and reduce cell). */
  drawings: number;
  /** Final genotypes in the records (ok search records). */
  finalGenotypes: number;
  records: number;
  trendMeasures: number;
}

const esc = (s: unknown): string => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const fx = (v: number | undefined, d: number): string => (v === undefined || !Number.isFinite(v) ? '—' : v.toFixed(d));
const mib = (b: number | undefined): string => (b === undefined ? '—' : `${(b / 2 ** 20).toFixed(0)} MiB`);
const slug = (s: string): string => s.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');

/** JSON safe inside <script>. */
const scriptJson = (v: unknown): string => JSON.stringify(v).replace(/</g, '\\u003c');

class Page {
  readonly parts: string[] = [];
  charts = 0;
  push(...s: string[]): void {
    this.parts.push(...s);
  }
  async chart(kind: string, spec: Spec, caption: string): Promise<void> {
    const svg = await renderSvg(spec);
    this.charts++;
    this.push(
      `<figure class="chart" data-chart="${esc(kind)}" id="chart-${this.charts}">`,
      `<div class="plot">${svg}</div>`,
      `<figcaption>${caption}</figcaption>`,
      `<script type="application/json" class="vega-lite-spec">${scriptJson(spec)}</script>`,
      '</figure>',
    );
  }
}

const STYLE = `
body{font:14px/1.45 Helvetica,Arial,sans-serif;color:#222;margin:0 auto;max-width:1180px;padding:0 18px 40px}
h1{font-size:24px;margin:18px 0 4px}h2{font-size:19px;border-bottom:2px solid #ddd;padding-bottom:3px;margin-top:34px}
h3{font-size:16px;margin:24px 0 6px}h4{font-size:14px;margin:14px 0 4px;color:#444}
table{border-collapse:collapse;margin:8px 0;font-size:12.5px}th,td{border:1px solid #ddd;padding:3px 6px;vertical-align:top;text-align:left}
th{background:#f4f4f4}td.num{text-align:right;white-space:nowrap}
.verdict{font-weight:bold;white-space:nowrap}.v-proxy{color:#8a6d00}.v-reproduced{color:#1a7f37}.v-within-tolerance{color:#1a7f37}
.v-not-reproduced{color:#c62828}.v-not-run{color:#777}
figure{margin:10px 0;display:inline-block;vertical-align:top}figure.chart{margin-right:14px}
figcaption{font-size:12px;color:#555;max-width:760px}
.plot svg{display:block}.cells{display:flex;flex-wrap:wrap;gap:10px}.cells .cell svg{max-width:540px;height:auto;display:block}
figure.genotype{border:1px solid #e3e3e3;padding:6px 8px;margin:8px 10px 8px 0}
.note{background:#fff8e1;border-left:4px solid #f0c000;padding:6px 10px;margin:8px 0}
.empty{background:#fdecea;border-left:4px solid #c62828;padding:10px 14px;font-size:15px}
nav a{margin-right:12px}code{background:#f4f4f4;padding:0 3px}
.legend span{display:inline-block;padding:1px 8px;margin-right:6px;border:1px solid #aaa;border-radius:4px}
`;

function verdictTable(rows: VerdictRow[]): string {
  const head = ['row', 'verdict', 'verdict basis', 'ours: error %, mean ± sd (n)', 'ours: best', 'params M', 'search s', 'ms / iter', 'peak RSS',
    'val acc % super-net → derived', 'runs', 'paper: error %', 'deviations'];
  const body = rows.map((r) => {
    const o = r.ours;
    const err = o.error === undefined ? '—' : `${o.error.toFixed(2)}${o.sd === undefined ? '' : ` ± ${o.sd.toFixed(2)}`} (n=${o.n})`;
    const acc = o.supernet === undefined ? '—' : `${o.supernet.toFixed(1)} → ${fx(o.derived, 1)}`;
    const paper = r.paper ? `${r.paper.value} [${esc(r.paper.tag)}] ${esc(r.paper.aggregate)}<br><small>${esc(r.paper.source)}</small>` : '—';
    const dev = r.deviations.length ? `<details><summary>${r.deviations.length}</summary><ul>${r.deviations.map((d) => `<li>${esc(d)}</li>`).join('')}</ul></details>` : '—';
    const cmd = r.command ? `<br><small>run with <code>${esc(r.command)}</code></small>` : '';
    return `<tr><td>${esc(r.label)} (<code>${esc(r.row)}</code>)</td><td class="verdict v-${slug(r.verdict)}">${esc(r.verdict)}</td>` +
      `<td>${esc(r.basis)}${cmd}</td><td class="num">${err}</td><td class="num">${fx(o.best, 2)}</td><td class="num">${fx(o.paramsM, 2)}</td>` +
      `<td class="num">${fx(o.searchSeconds, 0)}</td><td class="num">${fx(o.msPerStep, 0)}</td><td class="num">${mib(o.peakRss)}</td>` +
      `<td class="num">${acc}</td><td>${esc(r.runs)}</td><td>${paper}</td><td>${dev}</td></tr>`;
  });
  return `<table class="verdicts"><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${body.join('')}</tbody></table>`;
}

async function searchSections(page: Page, data: ChartData): Promise<void> {
  for (const g of data.groups) {
    const of = <T extends { suite: string; row: string }>(xs: T[]): T[] => xs.filter((p) => p.suite === g.suite && p.row === g.row);
    const loss = of(data.loss);
    const acc = of(data.accuracy);
    const alpha = of(data.alpha);
    const dst = of(data.dst);
    if (loss.length + acc.length + alpha.length + dst.length === 0) continue;
    page.push(`<h3 id="run-${slug(`${g.suite}-${g.row}`)}">${esc(g.suite)} / ${esc(g.label)} <small>(<code>${esc(g.row)}</code>, ${esc(g.method)}; seeds ${g.seeds.join(', ')})</small></h3>`);
    if (loss.length > 0) {
      const d = downsample(loss, (p) => `${p.seed}/${p.loss}`);
      await page.chart('loss', lossSpec(d.points, `${g.label}: search loss`),
        `Training loss of the weight step (solid) and validation loss of the α step (dashed), per step, one line per seed.` +
        (d.bucket > 1 ? ` Each point is the mean of ${d.bucket} steps.` : ''));
    }
    if (acc.length > 0) {
      await page.chart('accuracy', (data.accuracyPerEpoch ? accuracySpec : accuracyEndSpec)(acc, `${g.label}: validation accuracy, super-net → derived`),
        data.accuracyPerEpoch
          ? 'Super-net and derived-net (inherited weights) validation accuracy per epoch, one line per seed.'
          : 'Super-net and derived-net (inherited weights) validation accuracy at the end of search, per seed; the grey bar is the consistency gap. The records hold these only at the end of search, so this is not a per-epoch curve.');
    }
    if (alpha.length > 0) {
      const lastEpoch = Math.max(...alpha.map((p) => p.epoch));
      for (const seed of g.seeds) {
        const final = alpha.filter((p) => p.seed === seed && p.epoch === lastEpoch);
        if (final.length === 0) continue;
        await page.chart('alpha-final', alphaHeatmapSpec(final, `${g.label} seed ${seed}: final α (epoch ${lastEpoch})`),
          `softmax(α/τ) per edge (rows: input → node) and op (columns), τ = ${fx(final[0].tau, 2)}, for the normal and the reduction cell.`);
      }
      const first = g.seeds.find((s) => alpha.some((p) => p.seed === s));
      for (const cell of ['normal', 'reduce'] as const) {
        const pts = alpha.filter((p) => p.seed === first && p.cell === cell);
        if (pts.length === 0) continue;
        await page.chart('alpha-epochs', alphaEpochsSpec(pts, `${g.label} seed ${first}: α per epoch, ${cell} cell`),
          `softmax(α/τ) of every op on every edge after each epoch (τ as scheduled that epoch), seed ${first}${g.seeds.length > 1 ? '; the heatmaps above show every seed\'s final α' : ''}.`);
      }
    }
    if (dst.length > 0) {
      await page.chart('dst', dstSpec(dst, `${g.label}: DST sparsity trace`),
        'Kept (op, input) pairs per intermediate node after each epoch (the derived set {q &gt; 0}), and the node thresholds t_j = sigmoid(β_j).');
    }
  }
}

async function genotypeSections(page: Page, data: ChartData): Promise<number> {
  let drawn = 0;
  const bySuite = new Map<string, typeof data.finalGenotypes>();
  for (const f of data.finalGenotypes) bySuite.set(f.suite, [...(bySuite.get(f.suite) ?? []), f]);
  if (data.finalGenotypes.length === 0) {
    page.push('<p>No final genotypes: no search run ended ok.</p>');
    return 0;
  }
  page.push(`<p class="legend">DARTS' drawing convention: <span style="background:${'#b4eeb4'}">c_{k-2}, c_{k-1}: cell inputs</span>` +
    `<span style="background:#add8e6">0 … n-1: intermediate nodes</span><span style="background:#eee8aa">c_{k}: output (concat)</span>` +
    'each arrow is one (op, input) pair of the genotype, labelled with its op.</p>');
  for (const [suite, finals] of bySuite) {
    page.push(`<h3>${esc(suite)}</h3>`);
    for (const f of finals) {
      if (!f.genotype) {
        page.push(`<p class="note">${esc(f.label)} seed ${f.seed}: the genotype cannot be drawn: ${esc(f.problem ?? 'unknown')}</p>`);
        continue;
      }
      const svgs = await cellSvgs(f.genotype, `${f.suite}/${f.row}/seed-${f.seed}`);
      const inputs = (c: 'normal' | 'reduce') => f.genotype![c].nodes.map((n) => n.length).join('/');
      drawn++;
      page.push(
        `<figure class="genotype" data-run="${esc(`${f.suite}/${f.row}/seed-${f.seed}`)}" data-format="${f.format}">`,
        `<figcaption><b>${esc(f.label)}</b> (<code>${esc(f.row)}</code>) seed ${f.seed}, ${f.format === 'dst' ? 'DST form (any in-degree)' : 'DARTS form (2 inputs per node)'}; ` +
        `inputs per node: normal ${inputs('normal')}, reduce ${inputs('reduce')}</figcaption>`,
        '<div class="cells">',
        `<div class="cell" data-cell="normal"><h4>normal cell</h4>${svgs.normal}</div>`,
        `<div class="cell" data-cell="reduce"><h4>reduction cell</h4>${svgs.reduce}</div>`,
        '</div></figure>',
      );
    }
  }
  return drawn;
}

async function costSection(page: Page, data: ChartData): Promise<void> {
  if (data.cost.length > 0) {
    const pts = data.cost.map((c, i) => ({ ...c, n: i + 1 }));
    const rows = pts.map((c) => `<tr><td class="num">${c.n}</td><td>${c.source}</td><td>${esc(c.suite)}</td><td>${esc(c.label)}</td>` +
      `<td class="num">${c.error.toFixed(2)}</td><td class="num">${Number(c.costDays.toPrecision(3))}</td><td>${esc(c.costKind)}</td></tr>`);
    await page.chart('cost', costSpec(pts, 'Search cost vs error: our runs and the paper\'s points'),
      'Search cost (log scale) against the row\'s error metric, one panel per metric. The numbers are the rows of this table; its last column names the normalisation of each cost ' +
      '(CPU device-days and GPU-days are not the same unit: a CPU point sits where it sits on the CPU that ran it):' +
      `<table class="cost-points"><thead><tr><th>#</th><th>source</th><th>suite</th><th>row</th><th>error %</th><th>search days</th><th>cost: normalisation</th></tr></thead><tbody>${rows.join('')}</tbody></table>`);
  } else page.push('<p>No row has both an error and a search cost yet.</p>');
  if (data.gaps.length > 0) {
    await page.chart('gap', gapSpec(data.gaps, 'Consistency gap: super-net minus derived accuracy'),
      'Per row: mean over seeds of the validation-accuracy gap between the super-net and the derived net with inherited weights, with its 95% t-interval (a single seed has no interval). EnTranNAS-DST\'s derived cell is its Engine cell, so its gap should be 0.');
  }
}

async function trendSections(page: Page, trends: TrendSet): Promise<number> {
  let n = 0;
  page.push(`<p>History <code>${esc(trends.historyDir)}</code>: ${trends.classes.map((c) => `${esc(c.machineClass)} (${c.commits} commits)`).join(', ') || 'no entries'}. ` +
    'Per measure: the median per commit with the range of its samples (light bar), the change points of <code>history steps</code> (dashed rules), ' +
    'and the gate\'s decisions comparing each commit with the one before (triangles; unchanged commits are not marked). Figures are compared only within one machine class.</p>');
  for (const p of trends.skipped) page.push(`<p class="note">skipped ${esc(p)}</p>`);
  for (const c of trends.classes) {
    page.push(`<h3>${esc(c.machineClass)}</h3>`);
    for (const t of trends.measures.filter((m) => m.machineClass === c.machineClass)) {
      await page.chart('trend', trendSpec(t.points, t.changes, t.decisions, t.measure, t.unit),
        `${esc(t.measure)} (${esc(t.unit)}, ${t.better} is better): ${t.points.length} commits, ${t.changes.length} change point(s), ` +
        `${t.decisions.filter((d) => d.verdict === 'regression').length} gate regression(s), ${t.decisions.filter((d) => d.verdict === 'improvement').length} improvement(s).`);
      n++;
    }
  }
  return n;
}

/** Records and tables of the selection, read through the store and the tables module. */
export function loadForHtml(opts: Pick<HtmlReportOptions, 'results' | 'suite' | 'generatedAt'>): { set: RecordSet; report: Report; suites: Suite[] } {
  const dir = path.resolve(opts.results ?? 'results');
  const suites = opts.suite === undefined ? listSuites() : [loadSuite(opts.suite)];
  const set = readRecords(dir, opts.suite === undefined ? undefined : suites[0].name);
  return { set, report: buildReport(suites, set, opts.generatedAt), suites };
}

/** Build the page (no file written). */
export async function buildHtmlReport(opts: HtmlReportOptions = {}): Promise<HtmlReport> {
  const { set, report } = loadForHtml(opts);
  const paperRows = buildReport(listSuites(), { resultsDir: set.resultsDir, records: [], problems: [] }, report.generatedAt).rows;
  const data = chartData(set, report, [...report.rows, ...paperRows]);
  const historyDir = opts.history ?? (existsSync(path.join(set.resultsDir, 'history')) ? path.join(set.resultsDir, 'history') : undefined);
  const trends = historyDir ? await readTrends(historyDir) : undefined;

  const page = new Page();
  const suitesShown = report.suites.map((s) => s.name);
  page.push('<!doctype html>', '<html lang="en"><head><meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>entrannas-bench report: ${esc(suitesShown.join(', '))}</title>`, `<style>${STYLE}</style></head><body>`);
  page.push('<h1>entrannas-bench report</h1>',
    `<p>Generated ${esc(report.generatedAt)} from <code>${esc(set.resultsDir)}</code>: ${set.records.length} run record(s) of suite(s) ${esc(suitesShown.join(', '))}. ` +
    'Figures come from the run records; paper figures only from the suites\' targets. The tidy data (one row per run) is in <code>&lt;results&gt;/tables/*.runs.csv</code> and <code>*.runs.jsonl</code>.</p>');
  const sections: Array<[string, string]> = [['tables', 'Verdict tables'], ['search', 'Search'], ['changes', 'Genotype changes'], ['cost', 'Cost and consistency'], ['cells', 'Final cells']];
  if (trends) sections.push(['trends', 'Trends']);
  page.push(`<nav>${sections.map(([id, t]) => `<a href="#${id}">${t}</a>`).join('')}</nav>`);

  if (set.records.length === 0) {
    page.push(`<section class="empty" id="empty"><b>No run records.</b> Nothing was found under <code>${esc(path.join(set.resultsDir, 'runs'))}</code>` +
      `${report.problems.length ? ` that could be read (${report.problems.length} unreadable record file(s), listed below)` : ''}. ` +
      `Run a suite first, e.g. <code>npx entrannas-bench run smoke --out ${esc(set.resultsDir)}</code>, or point <code>--results</code> at a results directory. ` +
      'The tables below show what each suite would run and the paper\'s figures.</section>');
  }

  page.push('<section id="tables"><h2>Verdict tables</h2>');
  const vrows = verdictRows(report, statusText);
  const hasRecords = (s: string) => set.records.some((r) => r.suite === s);
  for (const s of [...report.suites].sort((a, b) => Number(hasRecords(b.name)) - Number(hasRecords(a.name)))) {
    page.push(`<h3>${esc(s.name)} (${esc(s.kind)})</h3><p>${esc(s.description)}</p>`, verdictTable(vrows.filter((r) => r.suite === s.name)));
    for (const n of s.notes) page.push(`<p class="note">${esc(n)}</p>`);
  }
  page.push('</section>');

  page.push('<section id="search"><h2>Search</h2>');
  if (data.groups.length === 0) page.push('<p>No search records.</p>');
  await searchSections(page, data);
  page.push('</section>');

  page.push('<section id="changes"><h2>Genotype changes per epoch</h2>');
  const suitesWithChanges = [...new Set(data.genotypeChanges.map((p) => p.suite))];
  for (const suite of suitesWithChanges) {
    await page.chart('genotype-changes', genotypeChangesSpec(data.genotypeChanges.filter((p) => p.suite === suite), `${suite}: genotype changes per epoch`),
      '(node, pair) differences between the genotype derived after each epoch and the one before; a run whose line stays at 0 has a stable genotype.');
  }
  if (suitesWithChanges.length === 0) page.push('<p>No genotype history in the records.</p>');
  page.push('</section>');

  page.push('<section id="cost"><h2>Cost and consistency</h2>');
  await costSection(page, data);
  page.push('</section>');

  page.push('<section id="cells"><h2>Final cells</h2>');
  const drawings = await genotypeSections(page, data);
  page.push('</section>');

  let trendMeasures = 0;
  if (trends) {
    page.push('<section id="trends"><h2>Trends</h2>');
    trendMeasures = await trendSections(page, trends);
    page.push('</section>');
  }

  if (report.problems.length > 0 || report.unmatched.length > 0) {
    page.push('<section id="problems"><h2>Problems</h2><ul>',
      ...report.problems.map((p) => `<li>unreadable record: ${esc(p)}</li>`),
      ...report.unmatched.map((p) => `<li>${esc(p)}</li>`), '</ul></section>');
  }
  page.push(`<footer><p><small>Cell colours follow DARTS' visualize.py: ${Object.values(CELL_COLOURS).join(', ')}. Charts: Vega-Lite, rendered to SVG by vega; cells: Graphviz (@viz-js/viz).</small></p></footer>`);
  page.push('</body></html>', '');
  return {
    html: page.parts.join('\n'), charts: page.charts, drawings, finalGenotypes: data.finalGenotypes.length, records: set.records.length, trendMeasures,
  };
}

export interface HtmlWritten extends HtmlReport {
  file: string;
  bytes: number;
  ms: number;
}

/** Build the page and write it atomically (default <results>/tables/report.html). */
export async function writeHtmlReport(opts: HtmlReportOptions = {}): Promise<HtmlWritten> {
  const t0 = performance.now();
  const r = await buildHtmlReport(opts);
  const file = path.resolve(opts.out ?? htmlReportFile(opts.results ?? 'results'));
  await writeFileAtomicAsync(file, r.html);
  return { ...r, file, bytes: Buffer.byteLength(r.html), ms: performance.now() - t0 };
}
