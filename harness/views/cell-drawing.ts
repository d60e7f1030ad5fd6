// DARTS-style cell drawings (as DARTS' cnn/visualize.py draws them): a left-to-right Graphviz digraph with the
// inputs c_{k-2} and c_{k-1} filled darkseagreen2, the intermediate nodes 0..n-1 lightblue and the output c_{k}
// palegoldenrod; every (op, input) pair of the genotype is one arrow labelled with the op, and every node in the
// concat list has an unlabelled arrow into c_{k}. DST cells need nothing special: a node with 3 inputs gets 3
// arrows, an edge with 2 ops gets 2 parallel arrows. Rendered with Graphviz compiled to WebAssembly
// (@viz-js/viz: no system Graphviz), PNG through sharp from the SVG.
import sharp from 'sharp';
import type { CellGenotype, Genotype } from '../../nas/genotype.js';

export type CellKind = 'normal' | 'reduce';
export type DrawFormat = 'svg' | 'png' | 'dot';

/** The DARTS colour convention (visualize.py). */
export const CELL_COLOURS = { input: 'darkseagreen2', intermediate: 'lightblue', output: 'palegoldenrod' } as const;

const quote = (s: string): string => `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;

/** Graphviz name of genotype input index i (0 = c_{k-2}, 1 = c_{k-1}, j ≥ 2 = intermediate node j-2). */
export function nodeName(i: number): string {
  return i === 0 ? 'c_{k-2}' : i === 1 ? 'c_{k-1}' : String(i - 2);
}

const HEAD = [
  '  rankdir=LR;',
  '  graph [fontname="Helvetica", bgcolor="white"];',
  '  edge [fontsize=20, fontname="Helvetica", color="gray40"];',
  '  node [style="rounded,filled", shape=rect, align=center, fontsize=20, height=0.5, width=0.5, penwidth=2, fontname="Helvetica"];',
];

/** Node and edge statements of one cell; node ids get `prefix` (so two cells can share one graph), labels do not. */
function cellStatements(cell: CellGenotype, prefix: string, indent: string): string[] {
  const id = (n: string): string => quote(`${prefix}${n}`);
  const node = (n: string, fill: string): string => `${indent}${id(n)} [label=${quote(n)}, fillcolor=${fill}];`;
  const lines = [node(nodeName(0), CELL_COLOURS.input), node(nodeName(1), CELL_COLOURS.input)];
  cell.nodes.forEach((_, j) => lines.push(node(nodeName(j + 2), CELL_COLOURS.intermediate)));
  lines.push(node('c_{k}', CELL_COLOURS.output));
  cell.nodes.forEach((pairs, j) => {
    for (const [op, input] of pairs) {
      lines.push(`${indent}${id(nodeName(input))} -> ${id(nodeName(j + 2))} [label=${quote(op)}, class="op"];`);
    }
  });
  for (const c of cell.concat) lines.push(`${indent}${id(nodeName(c))} -> ${id('c_{k}')} [color="gray70", class="concat"];`);
  return lines;
}

/** DOT source of one cell. `id` names the graph (it becomes the SVG's title). */
export function cellDot(cell: CellGenotype, id = 'cell'): string {
  return [`digraph ${quote(id)} {`, ...HEAD, ...cellStatements(cell, '', '  '), '}', ''].join('\n');
}

type Viz = Awaited<ReturnType<typeof import('@viz-js/viz').instance>>;
let vizPromise: Promise<Viz> | undefined;

/** The WebAssembly Graphviz instance (created once per process). */
function viz(): Promise<Viz> {
  vizPromise ??= import('@viz-js/viz').then((m) => m.instance());
  return vizPromise;
}

/** Render DOT to SVG with the dot engine. Throws with Graphviz's own messages on bad DOT. */
export async function dotToSvg(dot: string): Promise<string> {
  const v = await viz();
  const r = v.render(dot, { format: 'svg', engine: 'dot' });
  if (r.status !== 'success') throw new Error(`graphviz: ${r.errors.map((e) => e.message).join('; ')}`);
  return r.output;
}

/** SVG without the XML prolog and DOCTYPE, for inlining into HTML. */
export function inlineSvg(svg: string): string {
  return svg.replace(/^<\?xml[^>]*>\s*/, '').replace(/<!DOCTYPE[^>]*>\s*/, '').replace(/<!--[\s\S]*?-->\s*/g, '');
}

export async function svgToPng(svg: string, density = 96): Promise<Buffer> {
  return sharp(Buffer.from(svg), { density }).png().toBuffer();
}

/** The cells to draw for --cell. */
export function cellsOf(which: CellKind | 'both'): CellKind[] {
  return which === 'both' ? ['normal', 'reduce'] : [which];
}

/**
 * DOT of the chosen cells: one graph for one cell; for both, one graph with the two cells as clusters side by side.
 * `name` labels the drawing.
 */
export function genotypeDot(g: Genotype, which: CellKind | 'both' = 'both', name = 'genotype'): string {
  const cells = cellsOf(which);
  if (cells.length === 1) return cellDot(g[cells[0]], `${name} ${cells[0]}`);
  // With rankdir=LR, dot stacks clusters bottom-up: emit the reduction cell first so the normal cell is drawn on top.
  const clusters = [...cells].reverse().flatMap((kind) => [
    `  subgraph ${quote(`cluster_${kind}`)} {`,
    `    label=${quote(`${kind} cell`)}; fontsize=22; color="gray80";`,
    ...cellStatements(g[kind], `${kind}:`, '    '),
    '  }',
  ]);
  return [`digraph ${quote(name)} {`, ...HEAD, ...clusters, '}', ''].join('\n');
}

/** Draw a genotype: DOT text, SVG text, or PNG bytes. */
export async function drawGenotype(g: Genotype, opts: { cell?: CellKind | 'both'; format?: DrawFormat; name?: string } = {}): Promise<string | Buffer> {
  const dot = genotypeDot(g, opts.cell ?? 'both', opts.name ?? 'genotype');
  const format = opts.format ?? 'svg';
  if (format === 'dot') return dot;
  const svg = await dotToSvg(dot);
  return format === 'svg' ? svg : svgToPng(svg);
}

let drawingCount = 0;

/** Graphviz numbers its ids graph0, node1, edge1 … in every SVG: prefix them so many drawings can share one page. */
export function uniqueIds(svg: string, prefix: string): string {
  return svg.replace(/ id="((?:graph|node|edge|clust)\d+)"/g, ` id="${prefix}-$1"`);
}

/** One SVG per cell (what the HTML report inlines), with ids unique on the page. */
export async function cellSvgs(g: Genotype, name: string): Promise<Record<CellKind, string>> {
  const svg = async (kind: CellKind) => uniqueIds(inlineSvg(await dotToSvg(cellDot(g[kind], `${name} ${kind}`))), `cell${++drawingCount}`);
  return { normal: await svg('normal'), reduce: await svg('reduce') };
}
