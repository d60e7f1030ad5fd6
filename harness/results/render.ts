// Results tables, the renderings: Markdown (one section per suite, with footnotes), CSV, JSON, a console
// summary, and the three table files written atomically (harness/results/layout.ts names them).
import { consistencyLines } from './render-consistency.js';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { stringify } from 'csv-stringify/sync';
import { writeFileAtomicAsync } from '../../nas/util/fs.js';
import { tableFiles } from './layout.js';
import { statusText, type OurFigures, type PaperFigures, type Report, type TableRow } from './tables.js';
import { verdictLabel } from './verdict.js';
import { METRIC_LABELS, METRIC_UNITS, describeTarget, shortTarget, type Target } from '../suites/targets.js';

const DASH = '—';

function fixed(v: number | undefined, digits: number): string {
  return v === undefined ? DASH : v.toFixed(digits);
}
function sig(v: number | undefined): string {
  return v === undefined ? DASH : Number(v.toPrecision(3)).toString();
}
function bytes(v: number | undefined): string {
  if (v === undefined) return DASH;
  return v >= 2 ** 30 ? `${(v / 2 ** 30).toFixed(2)} GiB` : `${(v / 2 ** 20).toFixed(0)} MiB`;
}
const targetList = (ts: Target[]): string => (ts.length === 0 ? DASH : ts.map(shortTarget).join('; '));

/** "2.61 ± 0.12 (n=3)" / "2.61 (n=1)" / "—". */
export function ourErrorCell(o: OurFigures): string {
  if (o.errorMean === undefined) return DASH;
  return `${o.errorMean.toFixed(2)}${o.errorSd === undefined ? '' : ` ± ${o.errorSd.toFixed(2)}`} (n=${o.errorValues.length})`;
}

/** Status counts per phase: "3 ok · 2 ok, 1 diverged", with the select runs in the middle when the row has them. */
export function phaseStatusText(r: TableRow): string {
  const select = r.protocol !== undefined || Object.values(r.status.select).some((n) => n > 0);
  return [r.status.search, ...(select ? [r.status.select] : []), r.status.eval].map(statusText).join(' · ');
}

/** "search 3 ok · eval 2 ok, 1 diverged (5 of 6 declared ok); 1 stale" / "—" for reference rows. */
export function runsCell(r: TableRow): string {
  if (!r.run) return DASH;
  const extra = [
    r.stale.length > 0 ? `${r.stale.length} stale` : '',
    r.unverified > 0 ? `${r.unverified} of unverified provenance` : '',
  ].filter(Boolean);
  return `${phaseStatusText(r)} (${r.finishedRuns} of ${r.declaredRuns} declared ok)${extra.length ? `; ${extra.join(', ')}` : ''}`;
}

/** The bound that decided the verdict: "≤ 2.73 vs margin 3.06 (one-sided 95 %, Welch)" / "2.50 vs margin 2.52 (point)" / "—". */
export function boundCell(r: TableRow): string {
  const j = r.judgement;
  if (j === undefined) return DASH;
  if (j.method === 'point') return `${j.ours.toFixed(2)} vs margin ${j.margin.toFixed(2)} (point)`;
  const lowerIsBetter = j.direction === 'lower';
  const side = j.verdict === 'not reproduced' ? (lowerIsBetter ? '≥' : '≤') : lowerIsBetter ? '≤' : '≥';
  return `${side} ${j.bound.toFixed(2)} vs margin ${j.margin.toFixed(2)} (one-sided 95 %, ${j.method})`;
}

/** "2.22 [R] best-of-k" / "—". */
export function paperErrorCell(p: PaperFigures): string {
  return p.error === undefined ? DASH : `${shortTarget(p.error)} ${p.error.aggregate}`;
}

const mdEscape = (s: string): string => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

/** Markdown: one section per suite, a table, then footnotes (deviations, targets and sources, verdict bases). */
export function renderMarkdown(report: Report): string {
  const out: string[] = [];
  out.push('# entrannas-bench results', '');
  out.push(
    `Generated ${report.generatedAt} from \`${report.resultsDir}\`. Columns headed *ours* come only from run records; ` +
    'columns headed *paper* hold published figures with their tag (R read, S secondary, L baseline paper, I inferred). ' +
    'Verdicts: reproduced / not reproduced when the one-sided 95 % bound of our mean is within / beyond the target plus its tolerance ' +
    "(Welch's interval when the paper gives its sd and n; a best-of-k figure is a point comparison), inconclusive otherwise; " +
    'failed (a declared run did not end ok), incomplete (i of n declared runs), proxy (deviations listed), not run; ' +
    '"(indicative)" marks a verdict on an inferred target or on our interpretation of the paper. ' +
    '"mean ± sd (n)" is the mean of our seeds; "best of n" is our best seed; the paper column names its own aggregate (best-of-k, mean-of-k, single).',
    '',
  );
  let footnote = 0;
  for (const s of report.suites) {
    const rows = report.rows.filter((r) => r.suite === s.name);
    const metric = rows.find((r) => r.paper.error !== undefined)?.metric ?? rows[0]?.metric ?? 'testError';
    const unit = METRIC_UNITS[metric];
    const mlabel = METRIC_LABELS[metric];
    out.push(`## ${s.name} (${s.kind})`, '', s.description, '');
    const header = [
      'row', 'verdict',
      `ours: ${mlabel} ${unit}, mean ± sd (n)`, 'ours: best of n', 'ours: params M', 'ours: MACs M',
      'ours: search device-days', 'ours: search GPU-days (normalised)', 'ours: search ms / iteration', 'ours: peak memory, search (RSS / tensors)',
      'ours: val acc % super-net → derived', 'ours: bound that decided', 'runs: search · eval',
      `paper: ${mlabel} ${unit}`, 'paper: params M', 'paper: MACs M', 'paper: search GPU-days', 'notes',
    ];
    out.push(`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`);
    const devNotes = new Map<string, number>();
    const below: string[] = [];
    for (const r of rows) {
      const notes: string[] = [];
      if (r.command !== undefined) notes.push(`run with \`${r.command}\``);
      if (!r.run) notes.push('reference only: published figures');
      if (r.deviations.length > 0) {
        const key = r.deviations.join('\n');
        if (!devNotes.has(key)) {
          devNotes.set(key, ++footnote);
          below.push(`[^${footnote}]: Deviations from the paper protocol: ${r.deviations.map(mdEscape).join('; ')}.`);
        }
        notes.push(`deviations[^${devNotes.get(key)}]`);
      }
      const o = r.ours;
      const mem = o.searchPeakRssBytes === undefined ? DASH : `${bytes(o.searchPeakRssBytes)} / ${bytes(o.searchPeakTensorBytes)}`;
      const cells = [
        `${r.label} (\`${r.rowId}\`)`, `**${verdictLabel(r)}**`,
        ourErrorCell(o), o.errorBest === undefined ? DASH : `${o.errorBest.toFixed(2)} (best of ${o.errorValues.length})`,
        fixed(o.paramsM, 2), fixed(o.macsM, 0), sig(o.searchDeviceDays), sig(o.searchGpuDaysNormalised), fixed(o.searchMsPerStep, 0), mem,
        o.supernetValAcc === undefined ? DASH : `${o.supernetValAcc.toFixed(1)} → ${fixed(o.derivedValAcc, 1)}`, boundCell(r), runsCell(r),
        paperErrorCell(r.paper), targetList(r.paper.params), targetList(r.paper.macs), targetList(r.paper.searchGpuDays),
        notes.join('; ') || DASH,
      ];
      out.push(`| ${cells.map(mdEscape).join(' | ')} |`);
    }
    out.push('');
    const explained = rows.filter((r) => r.judgement !== undefined || r.verdict === 'failed' || r.verdict === 'incomplete');
    if (explained.length > 0) {
      out.push('Verdict basis:', '');
      for (const r of explained) out.push(`- \`${r.rowId}\`: ${verdictLabel(r)}: ${mdEscape(r.verdictBasis)}`);
      out.push('');
    }
    out.push(...consistencyLines(rows));
    const stale = rows.flatMap((r) => r.stale);
    if (stale.length > 0) {
      out.push("Stale records (left out: the suite's protocol changed since they ran; rerun them with `run --fresh`):", '');
      for (const s of stale) out.push(`- ${mdEscape(s)}`);
      out.push('');
    }
    const withTargets = rows.filter((r) => r.paper.error !== undefined || r.paper.params.length + r.paper.macs.length + r.paper.searchGpuDays.length > 0);
    if (withTargets.length > 0) {
      out.push('Paper figures and their sources (the verdict target is marked):', '');
      for (const r of withTargets) {
        const ts = [...(r.paper.error ? [r.paper.error] : []), ...r.paper.otherError, ...r.paper.params, ...r.paper.macs, ...r.paper.searchGpuDays];
        for (const t of ts) {
          const extra = [t.protocol, `hardware: ${t.hardware}`, t.note].filter(Boolean).join('; ');
          out.push(`- \`${r.rowId}\` ${METRIC_LABELS[t.metric]}${t.verdict ? ' (verdict)' : ''}: ${mdEscape(describeTarget(t))}, tolerance ${t.tolerance}. ${mdEscape(extra)}`);
        }
      }
      out.push('');
    }
    for (const n of s.notes) out.push(`> ${mdEscape(n)}`);
    if (s.notes.length > 0) out.push('');
    out.push(...below);
    if (below.length > 0) out.push('');
  }
  if (report.problems.length > 0) {
    out.push('## Unreadable records', '', ...report.problems.map((p) => `- ${mdEscape(p)}`), '');
  }
  if (report.unmatched.length > 0) {
    out.push('## Records outside the reported suites', '', ...report.unmatched.map((p) => `- ${mdEscape(p)}`), '');
  }
  return out.join('\n');
}

/** CSV column names, in order. Columns prefixed ours_ come from records, paper_ from the suites' targets. */
export const CSV_COLUMNS = [
  'suite', 'kind', 'row', 'label', 'method', 'run_in_suite', 'planned_seeds', 'verdict', 'verdict_basis', 'command',
  'metric', 'ours_n', 'ours_error_mean', 'ours_error_sd', 'ours_error_best', 'ours_error_values', 'ours_bound', 'ours_bound_method', 'margin', 'indicative', 'declared_runs', 'finished_runs', 'stale_records',
  'ours_params_m', 'ours_macs_m', 'ours_search_device_days', 'ours_search_gpu_days_normalised', 'ours_reference_gpu', 'ours_device',
  'ours_search_wall_seconds', 'ours_search_peak_rss_bytes', 'ours_search_peak_tensor_bytes', 'ours_eval_peak_rss_bytes', 'ours_eval_peak_tensor_bytes',
  'ours_search_ms_per_iteration', 'ours_supernet_val_acc', 'ours_derived_val_acc',
  'search_ok', 'search_failed', 'search_diverged', 'search_timeout', 'eval_ok', 'eval_failed', 'eval_diverged', 'eval_timeout',
  'paper_error', 'paper_error_sd', 'paper_error_n', 'paper_error_aggregate', 'paper_error_tolerance', 'paper_error_tag', 'paper_error_source',
  'paper_error_hardware', 'paper_error_other', 'paper_params_m', 'paper_macs_m', 'paper_search_gpu_days', 'deviations',
] as const;

type CsvRow = Record<(typeof CSV_COLUMNS)[number], string | number>;

const opt = (v: number | undefined): string | number => (v === undefined ? '' : v);
const describeAll = (ts: Target[]): string => ts.map(describeTarget).join('; ');

function csvRow(r: TableRow): CsvRow {
  const o = r.ours;
  const e = r.paper.error;
  return {
    suite: r.suite, kind: r.suiteKind, row: r.rowId, label: r.label, method: r.method, run_in_suite: String(r.run),
    planned_seeds: r.plannedSeeds.join(' '), verdict: r.verdict, verdict_basis: r.verdictBasis, command: r.command ?? '',
    metric: r.metric, ours_n: o.errorValues.length, ours_error_mean: opt(o.errorMean), ours_error_sd: opt(o.errorSd),
    ours_error_best: opt(o.errorBest), ours_error_values: o.errorValues.map((x) => `seed ${x.seed}: ${x.value}`).join('; '),
    ours_bound: opt(r.judgement?.bound), ours_bound_method: r.judgement?.method ?? '', margin: opt(r.judgement?.margin),
    indicative: r.indicative ?? '', declared_runs: r.declaredRuns, finished_runs: r.finishedRuns, stale_records: r.stale.join('; '),
    ours_params_m: opt(o.paramsM), ours_macs_m: opt(o.macsM), ours_search_device_days: opt(o.searchDeviceDays),
    ours_search_gpu_days_normalised: opt(o.searchGpuDaysNormalised), ours_reference_gpu: o.referenceGpu ?? '',
    ours_device: o.deviceClasses.join('; '), ours_search_wall_seconds: opt(o.searchWallSeconds),
    ours_search_peak_rss_bytes: opt(o.searchPeakRssBytes), ours_search_peak_tensor_bytes: opt(o.searchPeakTensorBytes),
    ours_eval_peak_rss_bytes: opt(o.evalPeakRssBytes), ours_eval_peak_tensor_bytes: opt(o.evalPeakTensorBytes),
    ours_search_ms_per_iteration: opt(o.searchMsPerStep), ours_supernet_val_acc: opt(o.supernetValAcc), ours_derived_val_acc: opt(o.derivedValAcc),
    search_ok: r.status.search.ok, search_failed: r.status.search.failed, search_diverged: r.status.search.diverged, search_timeout: r.status.search.timeout,
    eval_ok: r.status.eval.ok, eval_failed: r.status.eval.failed, eval_diverged: r.status.eval.diverged, eval_timeout: r.status.eval.timeout,
    paper_error: opt(e?.value), paper_error_sd: opt(e?.sd), paper_error_n: opt(e?.n), paper_error_aggregate: e?.aggregate ?? '',
    paper_error_tolerance: opt(e?.tolerance), paper_error_tag: e?.tag ?? '', paper_error_source: e ? `${e.source.paper}, ${e.source.version}` : '',
    paper_error_hardware: e?.hardware ?? '', paper_error_other: describeAll(r.paper.otherError),
    paper_params_m: describeAll(r.paper.params), paper_macs_m: describeAll(r.paper.macs), paper_search_gpu_days: describeAll(r.paper.searchGpuDays),
    deviations: r.deviations.join('; '),
  };
}

export function renderCsv(report: Report): string {
  return stringify(report.rows.map(csvRow), { header: true, columns: [...CSV_COLUMNS] });
}

export function renderJson(report: Report): string {
  return `${JSON.stringify(report, null, 2)}\n`;
}

export type TableFormat = 'md' | 'csv' | 'json';

export function render(report: Report, format: TableFormat): string {
  return format === 'md' ? renderMarkdown(report) : format === 'csv' ? renderCsv(report) : renderJson(report);
}

/**
 * Write the tables of one suite (<results>/tables/<suite>.md, .csv, .json) or, without `suite`, of every suite
 * (all.*), atomically; returns the paths.
 */
export async function writeTables(report: Report, resultsDir: string, suite: string | undefined): Promise<Record<TableFormat, string>> {
  const paths: Record<TableFormat, string> = tableFiles(resultsDir, suite);
  await mkdir(path.dirname(paths.md), { recursive: true });
  for (const f of ['md', 'csv', 'json'] as const) await writeFileAtomicAsync(paths[f], render(report, f));
  return paths;
}

/**
 * A terminal-width summary: the rows of one suite as an aligned table, then one line per row of every other
 * suite (what ran, or the command that would run it). The full tables are the Markdown / CSV / JSON files.
 */
export function renderConsole(report: Report, suite: string): string {
  const rows = report.rows.filter((r) => r.suite === suite);
  const head = ['row', 'verdict', 'error %', 'params M', 'search s', 'ms/iter', 'peak RSS', 'val acc % super→derived', 'runs'];
  const body = rows.map((r) => {
    const o = r.ours;
    return [
      r.rowId, verdictLabel(r), ourErrorCell(o), fixed(o.paramsM, 2), fixed(o.searchWallSeconds, 0), fixed(o.searchMsPerStep, 0),
      o.searchPeakRssBytes === undefined ? DASH : bytes(o.searchPeakRssBytes),
      o.supernetValAcc === undefined ? DASH : `${o.supernetValAcc.toFixed(1)} → ${fixed(o.derivedValAcc, 1)}`,
      r.run ? `${phaseStatusText(r)}${r.stale.length ? `; ${r.stale.length} stale` : ''}` : DASH,
    ];
  });
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd();
  const out = [line(head), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)];
  const others = report.rows.filter((r) => r.suite !== suite && r.run);
  if (others.length > 0) {
    out.push('', 'Other suites:');
    for (const r of others) {
      const paper = r.paper.error ? `paper ${shortTarget(r.paper.error)}` : 'no paper figure';
      out.push(`  ${r.suite}/${r.rowId}: ${verdictLabel(r)} (${paper})${r.command ? ` — run with \`${r.command}\`` : ''}`);
    }
  }
  return out.join('\n');
}
