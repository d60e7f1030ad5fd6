// `arch draw`: the SVG of a cell has one op-labelled arrow per genotype pair (DARTS_V2: 8 per cell, drawn as the
// DARTS paper draws it), a DST node with 3 inputs gets 3 arrows, PNG and DOT come out, and a genotype file with an
// unknown op is refused with the message `arch params` gives.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { archParams } from '../harness/commands/arch.js';
import { InputError } from '../harness/commands/common.js';
import { drawCommand } from '../harness/commands/draw.js';
import { main } from '../harness/cli.js';
import { CELL_COLOURS, nodeName } from '../harness/views/cell-drawing.js';
import { PUBLISHED } from '../nas/genotypes-published.js';
import { parseGenotype } from '../nas/genotype.js';
import { tmpDir } from './helpers/report-fixture.js';

interface DrawnEdge { from: string; to: string; op?: string }

const unescape = (s: string): string => s.replace(/&#45;/g, '-').replace(/&gt;/g, '>').replace(/&lt;/g, '<').replace(/&amp;/g, '&');

/** The arrows of a Graphviz SVG: <g class="edge …"><title>from->to</title>…<text>op</text></g>. */
function edgesOf(svg: string): DrawnEdge[] {
  const out: DrawnEdge[] = [];
  for (const m of svg.matchAll(/<g id="edge\d+" class="edge[^"]*">([\s\S]*?)<\/g>/g)) {
    const title = unescape(/<title>([\s\S]*?)<\/title>/.exec(m[1])![1]);
    const [from, to] = title.split('->').map((s) => s.replace(/^(normal|reduce):/, ''));
    const text = /<text[^>]*>([^<]*)<\/text>/.exec(m[1]);
    out.push({ from, to, op: text ? unescape(text[1]) : undefined });
  }
  return out;
}

const opEdges = (svg: string) => edgesOf(svg).filter((e) => e.op !== undefined);
const key = (e: DrawnEdge) => `${e.op}:${e.from}->${e.to}`;

async function svgOf(genotype: string, cell: 'normal' | 'reduce' | 'both'): Promise<string> {
  const r = await drawCommand({ genotype, cell, format: 'svg' });
  assert.equal(typeof r.output, 'string');
  return r.output as string;
}

describe('arch draw: DARTS-style cell drawings', function () {
  this.timeout(30000);
  const dirs: string[] = [];
  after(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

  it('DARTS_V2: 8 op-labelled edges in each cell, the ops and inputs of the published cell, 4 concat edges', async () => {
    const g = parseGenotype(PUBLISHED.DARTS_V2);
    for (const cell of ['normal', 'reduce'] as const) {
      const svg = await svgOf('DARTS_V2', cell);
      const ops = opEdges(svg);
      assert.equal(ops.length, 8, `${cell}: ${ops.length} op-labelled edges`);
      const expected = g[cell].nodes.flatMap((pairs, j) => pairs.map(([op, i]) => key({ op, from: nodeName(i), to: nodeName(j + 2) }))).sort();
      assert.deepEqual(ops.map(key).sort(), expected);
      assert.equal(edgesOf(svg).filter((e) => e.op === undefined && e.to === 'c_{k}').length, 4, 'every intermediate node feeds c_{k}');
    }
    const both = await svgOf('DARTS_V2', 'both');
    assert.equal(opEdges(both).length, 16);
  });

  it('every published cell draws the edges and ops of its genotype', async () => {
    for (const name of Object.keys(PUBLISHED)) {
      const g = parseGenotype(PUBLISHED[name]);
      for (const cell of ['normal', 'reduce'] as const) {
        const drawn = opEdges(await svgOf(name, cell)).map(key).sort();
        const expected = g[cell].nodes.flatMap((pairs, j) => pairs.map(([op, i]) => key({ op, from: nodeName(i), to: nodeName(j + 2) }))).sort();
        assert.deepEqual(drawn, expected, `${name} ${cell}`);
      }
    }
  });

  it('a DST genotype: a node with 3 inputs draws 3 edges into it; two ops on one edge draw 2 arrows', async () => {
    const dir = tmpDir();
    dirs.push(dir);
    const file = path.join(dir, 'dst.json');
    fs.writeFileSync(file, JSON.stringify({
      format: 'dst',
      normal: [[['sep_conv_3x3', 0], ['skip_connect', 1]], [['sep_conv_3x3', 0], ['dil_conv_3x3', 1], ['max_pool_3x3', 2]],
        [['skip_connect', 2]], [['sep_conv_5x5', 1], ['avg_pool_3x3', 1]]],
      reduce: [[['max_pool_3x3', 0]], [['max_pool_3x3', 1]], [['skip_connect', 2]], [['skip_connect', 3]]],
    }));
    const edges = opEdges(await svgOf(file, 'normal'));
    assert.equal(edges.filter((e) => e.to === '1').length, 3, 'node 1 (genotype node 3) has 3 inputs');
    assert.equal(edges.filter((e) => e.to === '2').length, 1);
    const parallel = edges.filter((e) => e.to === '3' && e.from === 'c_{k-1}');
    assert.deepEqual(parallel.map((e) => e.op).sort(), ['avg_pool_3x3', 'sep_conv_5x5']);
    assert.equal(edges.length, 8);
  });

  it('DOT follows the DARTS convention (LR, green inputs, blue nodes, yellow output); PNG is a PNG', async () => {
    const dot = (await drawCommand({ genotype: 'DARTS_V2', cell: 'normal', format: 'dot' })).output as string;
    assert.match(dot, /rankdir=LR/);
    assert.match(dot, new RegExp(`"c_\\{k-2\\}" \\[label="c_\\{k-2\\}", fillcolor=${CELL_COLOURS.input}\\]`));
    assert.match(dot, new RegExp(`"0" \\[label="0", fillcolor=${CELL_COLOURS.intermediate}\\]`));
    assert.match(dot, new RegExp(`"c_\\{k\\}" \\[label="c_\\{k\\}", fillcolor=${CELL_COLOURS.output}\\]`));
    const dir = tmpDir();
    dirs.push(dir);
    const out = path.join(dir, 'darts_v2.png');
    await drawCommand({ genotype: 'DARTS_V2', out }); // format from the extension
    const meta = await sharp(out).metadata();
    assert.equal(meta.format, 'png');
    assert.ok(meta.width! > 200 && meta.height! > 200, `${meta.width}×${meta.height}`);
  });

  it('a genotype file with an unknown op is refused with the message of arch params (exit code 2)', async () => {
    const dir = tmpDir();
    dirs.push(dir);
    const file = path.join(dir, 'bad.json');
    fs.writeFileSync(file, JSON.stringify({ normal: [['conv_7x7', 0], ['skip_connect', 1]], reduce: [['max_pool_3x3', 0], ['skip_connect', 1]] }));
    const paramsMessage = await archParams({ genotype: file, dataset: 'cifar10' }).then(() => assert.fail('arch params accepted it'), (e: Error) => e.message);
    assert.match(paramsMessage, /unknown op "conv_7x7"/);
    await assert.rejects(drawCommand({ genotype: file }), (e: Error) => e instanceof InputError && e.message === paramsMessage);
    const stderr = process.stderr.write;
    let said = '';
    process.stderr.write = ((t: string) => { said += t; return true; }) as typeof process.stderr.write;
    let code: number;
    try {
      code = await main(['node', 'entrannas-bench', 'arch', 'draw', '--genotype', file]);
    } finally {
      process.stderr.write = stderr;
    }
    assert.equal(code, 2);
    assert.ok(said.includes(paramsMessage), said);
  });
});
