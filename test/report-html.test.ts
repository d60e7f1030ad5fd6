// The HTML report, the tidy data and the history export, from a generated results directory (no browser here:
// test/report-browser.test.ts opens the page in chromium).
import assert from 'node:assert/strict';
import { parse as parseCsv } from 'csv-parse/sync';
import fs from 'node:fs';
import path from 'node:path';
import { reportCommand } from '../harness/commands/report.js';
import { exportCommand } from '../harness/commands/history-export.js';
import { chartData } from '../harness/views/adapter.js';
import { TIDY_COLUMNS } from '../harness/views/points.js';
import { buildHtmlReport, loadForHtml, writeHtmlReport } from '../harness/views/html.js';
import { readTrends } from '../harness/views/trends.js';
import { STANDARD_OPS, NO_NONE_OPS } from '../nas/config.js';
import {
  FIXTURE_EPOCHS, FIXTURE_ROWS, FIXTURE_SEEDS, FIXTURE_STEPS_PER_EPOCH, tmpDir, writeFixtureHistory, writeFixtureResults,
} from './helpers/report-fixture.js';

const quiet = { out: () => {}, err: () => {} };

describe('report --html: charts, cell drawings, tidy data', function () {
  this.timeout(60000);
  const dirs: string[] = [];
  after(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));
  let fx: ReturnType<typeof writeFixtureResults>;
  before(async () => {
    fx = writeFixtureResults();
    dirs.push(fx.dir);
    await writeFixtureHistory(path.join(fx.dir, 'history'));
  });

  it('the adapter maps records to one row per observation (α: epochs × 14 edges × ops × 2 cells per run)', () => {
    const { set, report } = loadForHtml({ results: fx.dir, suite: 'smoke' });
    const d = chartData(set, report);
    assert.equal(d.groups.length, 3);
    for (const row of FIXTURE_ROWS) {
      const ops = row.ops === STANDARD_OPS ? STANDARD_OPS.length : NO_NONE_OPS.length;
      const a = d.alpha.filter((p) => p.row === row.row && p.seed === 0);
      assert.equal(a.length, FIXTURE_EPOCHS * 14 * ops * 2, row.row);
      const oneEdge = a.filter((p) => p.epoch === FIXTURE_EPOCHS && p.cell === 'normal' && p.edgeIndex === 0);
      assert.ok(Math.abs(oneEdge.reduce((s, p) => s + p.weight, 0) - 1) < 1e-9, 'softmax over the ops of an edge sums to 1');
      assert.equal(d.loss.filter((p) => p.row === row.row && p.seed === 0 && p.loss === 'weights').length, FIXTURE_EPOCHS * FIXTURE_STEPS_PER_EPOCH);
    }
    assert.equal(d.dst.length, FIXTURE_SEEDS.length * FIXTURE_EPOCHS * 4 * 2, 'DST trace: only the DST row, 4 nodes × 2 cells per epoch');
    assert.ok(d.dst.every((p) => p.row === 'entrannas-dst'));
    assert.equal(d.finalGenotypes.filter((f) => f.genotype).length, fx.finalGenotypes);
    const gap = d.gaps.find((g) => g.row === 'entrannas-dst')!;
    assert.equal(gap.mean, 0);
    assert.ok(d.gaps.find((g) => g.row === 'darts-1st')!.mean > 20);
    assert.ok(d.cost.some((c) => c.source === 'ours') && d.cost.some((c) => c.source === 'paper') === false, 'the smoke suite alone has no paper cost');
  });

  it('one self-contained page: every chart kind, one drawing per final genotype, trends, no external references', async () => {
    const h = await buildHtmlReport({ results: fx.dir });
    assert.equal(h.drawings, fx.finalGenotypes);
    assert.equal((h.html.match(/<figure class="genotype"/g) ?? []).length, fx.finalGenotypes);
    const kinds = new Set([...h.html.matchAll(/<figure class="chart" data-chart="([^"]+)"/g)].map((m) => m[1]));
    for (const k of ['loss', 'accuracy', 'alpha-final', 'alpha-epochs', 'dst', 'genotype-changes', 'cost', 'gap', 'trend']) assert.ok(kinds.has(k), `chart ${k}`);
    assert.equal((h.html.match(/<figure class="chart"/g) ?? []).length, h.charts);
    assert.equal((h.html.match(/class="vega-lite-spec"/g) ?? []).length, h.charts, 'every chart carries its spec');
    assert.equal(h.trendMeasures, 3);
    assert.ok(!/<(script|img|link|iframe)[^>]*\s(src|href)=["']?(https?:|\/\/)/i.test(h.html), 'no network references');
    assert.ok(!/<script(?![^>]*type="application\/json")/i.test(h.html), 'no executable script');
    const ids = [...h.html.matchAll(/ id="([^"]+)"/g)].map((m) => m[1]);
    assert.deepEqual(ids.filter((id, i) => ids.indexOf(id) !== i), [], 'element ids are unique on the page');
    assert.match(h.html, /Verdict basis|verdict basis/);
    assert.match(h.html, /proxy suite: deviates/);
    // The cost scatter names the normalisation of our CPU cost and of the paper's GPU-days.
    assert.match(h.html, /device-days on cpu:AMD EPYC x1 \(not normalised/);
    assert.match(h.html, /GPU-days as published, on GTX 1080Ti/);
  });

  it('trends: the planted 1.6× step is a change point and a gate regression at its commit', async () => {
    const t = await readTrends(path.join(fx.dir, 'history'));
    const m = t.measures.find((x) => x.measure === 'bench/search/entrannas')!;
    assert.equal(m.points.length, 8);
    assert.deepEqual(m.changes.map((c) => [c.commit, c.kind]), [['c005abcdef', 'regression']]);
    assert.deepEqual(m.decisions.map((d) => [d.commit, d.verdict]), [['c005abcdef', 'regression']]);
    assert.equal(t.measures.find((x) => x.measure === 'bench/ops/sep_conv_3x3')!.changes.length, 0);
  });

  it('an empty results directory gives a page that says so, with the command to run', async () => {
    const empty = tmpDir();
    dirs.push(empty);
    const w = await writeHtmlReport({ results: empty, suite: 'smoke' });
    assert.equal(w.file, path.join(empty, 'tables', 'report.html'));
    const html = fs.readFileSync(w.file, 'utf8');
    assert.match(html, /<section class="empty" id="empty"><b>No run records\.<\/b>/);
    assert.match(html, /npx entrannas-bench run smoke --out/);
    assert.equal(w.drawings, 0);
    assert.match(html, /No final genotypes/);
  });

  it('report writes the tidy data next to the tables: one row per run, every column, CSV and JSON Lines agree', async () => {
    const out = await reportCommand({ results: fx.dir, suite: 'smoke' });
    assert.equal(out.tidy!.csv, path.join(fx.dir, 'tables', 'smoke.runs.csv'));
    const rows = parseCsv(fs.readFileSync(out.tidy!.csv, 'utf8'), { columns: true }) as Array<Record<string, string>>;
    assert.equal(rows.length, fx.records);
    assert.deepEqual(Object.keys(rows[0]), [...TIDY_COLUMNS]);
    const lines = fs.readFileSync(out.tidy!.jsonl, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.equal(lines.length, fx.records);
    const dstEval = lines.find((l) => l.row === 'entrannas-dst' && l.seed === 1 && l.phase === 'eval')!;
    assert.equal(dstEval.test_error_pct, 37);
    assert.equal(dstEval.device_class, 'cpu:AMD EPYC x1');
    assert.equal(dstEval.method, 'entrannas-dst');
    const dartsSearch = rows.find((r) => r.row === 'darts-1st' && r.seed === '0' && r.phase === 'search')!;
    assert.equal(Number(dartsSearch.wall_seconds), 48);
    assert.equal(dartsSearch.method, 'darts-1st');
    assert.equal(dartsSearch.backend, 'wasm');
  });

  it('history export: github-action-benchmark customSmallerIsBetter items of the newest entry', async () => {
    const r = await exportCommand({ history: path.join(fx.dir, 'history') }, quiet);
    assert.deepEqual(r.items.map((i) => i.name), ['bench/ops/sep_conv_3x3', 'bench/search/entrannas', 'smoke/entrannas/peakRssBytes']);
    const s = r.items[1];
    assert.equal(s.unit, 'ms');
    assert.ok(s.value > 240 && s.value < 275, String(s.value));
    assert.match(s.range!, /^± \d/);
    assert.match(s.extra!, /commit c007abcdef/);
    for (const i of r.items) assert.deepEqual(Object.keys(i).filter((k) => !['name', 'unit', 'value', 'range', 'extra'].includes(k)), []);
    const old = await exportCommand({ history: path.join(fx.dir, 'history'), commit: 'c000' }, quiet);
    assert.ok(old.items[1].value < 175);
    await assert.rejects(exportCommand({ history: path.join(fx.dir, 'nope') }, quiet), /no history in/);
  });
});
