// Genotypes: one portable JSON form for DARTS-style cells (2 inputs per node) and DST-style cells
// (any number of (op, input) pairs per node, several ops per edge). Inputs: 0 = cell k-2, 1 = cell k-1,
// j ≥ 2 = intermediate node j. Published cells (../shared/spec/genotypes.json) are built in by name.
import fs from 'node:fs';
import { isOpName, type OpName } from './config.js';
import { PUBLISHED } from './genotypes-published.js';

export type Pair = [OpName, number];

export interface CellGenotype {
  /** nodes[j] = pairs feeding intermediate node j+2. */
  nodes: Pair[][];
  concat: number[];
}

export interface Genotype {
  format: 'darts' | 'dst';
  normal: CellGenotype;
  reduce: CellGenotype;
}

/** The JSON file form. darts: flat lists of 2 pairs per node (as DARTS' namedtuple); dst: a list of pairs per node. */
export interface GenotypeJson {
  format?: 'darts' | 'dst';
  normal: Array<[string, number]> | Array<Array<[string, number]>>;
  normal_concat?: number[];
  reduce: Array<[string, number]> | Array<Array<[string, number]>>;
  reduce_concat?: number[];
}

export class GenotypeError extends Error {}

function parseCell(raw: unknown, concatRaw: unknown, format: 'darts' | 'dst', where: string): CellGenotype {
  if (!Array.isArray(raw)) throw new GenotypeError(`${where}: expected a list of pairs`);
  let nodeLists: unknown[][];
  if (format === 'darts') {
    if (raw.length === 0 || raw.length % 2 !== 0) {
      throw new GenotypeError(`${where}: a DARTS-format cell needs 2 (op, input) pairs per node, got ${raw.length} pairs`);
    }
    nodeLists = [];
    for (let i = 0; i < raw.length; i += 2) nodeLists.push([raw[i], raw[i + 1]]);
  } else {
    nodeLists = raw.map((n, j) => {
      if (!Array.isArray(n)) throw new GenotypeError(`${where} node ${j + 2}: expected a list of (op, input) pairs`);
      return n as unknown[];
    });
  }
  const nodes: Pair[][] = nodeLists.map((pairs, j) => {
    const node = j + 2;
    if (pairs.length === 0) throw new GenotypeError(`${where} node ${node}: has no input`);
    return pairs.map((p) => {
      if (!Array.isArray(p) || p.length !== 2 || typeof p[0] !== 'string' || !Number.isInteger(p[1])) {
        throw new GenotypeError(`${where} node ${node}: each pair must be [op, inputIndex], got ${shapeOf(p)}`);
      }
      const [op, input] = p as [string, number];
      if (!isOpName(op)) throw new GenotypeError(`${where} node ${node}: unknown op "${op}"`);
      if (op === 'none') throw new GenotypeError(`${where} node ${node}: op "none" cannot be part of a derived cell`);
      if (input < 0 || input >= node) {
        throw new GenotypeError(`${where} node ${node}: input index ${input} out of range (must be 0..${node - 1})`);
      }
      return [op, input] as Pair;
    });
  });
  const all = nodes.map((_, j) => j + 2);
  let concat = all;
  if (concatRaw !== undefined) {
    if (!Array.isArray(concatRaw) || concatRaw.some((c) => !Number.isInteger(c) || c < 2 || c >= nodes.length + 2)) {
      throw new GenotypeError(`${where}_concat: must list node indices 2..${nodes.length + 1}, got ${shapeOf(concatRaw)}`);
    }
    concat = concatRaw as number[];
  }
  return { nodes, concat };
}

export function parseGenotype(raw: unknown, source = 'genotype'): Genotype {
  if (raw === null || typeof raw !== 'object') throw new GenotypeError(`${source}: expected a JSON object`);
  const o = raw as Record<string, unknown>;
  for (const key of ['normal', 'reduce']) {
    if (!(key in o)) throw new GenotypeError(`${source}: missing "${key}" cell`);
  }
  const normalRaw = o.normal as unknown[];
  const guessed: 'darts' | 'dst' = Array.isArray(normalRaw) && Array.isArray(normalRaw[0]) && Array.isArray((normalRaw[0] as unknown[])[0]) ? 'dst' : 'darts';
  const format = (o.format as 'darts' | 'dst' | undefined) ?? guessed;
  if (format !== 'darts' && format !== 'dst') throw new GenotypeError(`${source}: format must be "darts" or "dst", got ${shapeOf(o.format)}`);
  const normal = parseCell(o.normal, o.normal_concat, format, `${source}: normal cell`);
  const reduce = parseCell(o.reduce, o.reduce_concat, format, `${source}: reduce cell`);
  return { format, normal, reduce };
}

/** What a value is, without quoting it: a file\'s contents must not end up in messages and run records. */
function shapeOf(v: unknown): string {
  if (Array.isArray(v)) return `an array of ${v.length}`;
  if (typeof v === 'string') return ['darts', 'dst'].includes(v) || /^[a-z_0-9]{1,20}$/.test(v) ? `"${v}"` : `a string of ${v.length} characters`;
  if (typeof v === 'number' || typeof v === 'boolean' || v === null || v === undefined) return String(v);
  return typeof v;
}

export function genotypeToJson(g: Genotype): GenotypeJson {
  const cell = (c: CellGenotype) => (g.format === 'darts' ? c.nodes.flat() : c.nodes);
  return { format: g.format, normal: cell(g.normal), normal_concat: g.normal.concat, reduce: cell(g.reduce), reduce_concat: g.reduce.concat };
}

export function publishedNames(): string[] {
  return Object.keys(PUBLISHED);
}

/** A genotype file is a few hundred bytes; anything far larger is not one (and /dev/zero must not hang the run). */
export const MAX_GENOTYPE_BYTES = 1 << 20;

/** Read at most MAX_GENOTYPE_BYTES + 1 bytes of a regular file; refuses devices, directories and larger files. */
function readCapped(file: string): string {
  const st = fs.statSync(file);
  if (!st.isFile()) throw new GenotypeError(`${file}: not a regular file (a genotype is a JSON file)`);
  if (st.size > MAX_GENOTYPE_BYTES) throw new GenotypeError(`${file}: ${st.size} bytes; a genotype file is at most ${MAX_GENOTYPE_BYTES} bytes of JSON`);
  const fd = fs.openSync(file, 'r');
  try {
    const buf = Buffer.alloc(MAX_GENOTYPE_BYTES + 1);
    const n = fs.readSync(fd, buf, 0, buf.length, 0);
    if (n > MAX_GENOTYPE_BYTES) throw new GenotypeError(`${file}: larger than ${MAX_GENOTYPE_BYTES} bytes; not a genotype file`);
    return buf.subarray(0, n).toString('utf8');
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * A published cell by name (own properties of the table only: "toString" is not a cell), or a genotype JSON file
 * by path (size-capped, JSON only). Messages name the file and the problem, never its contents (which end up in
 * run records).
 */
export function loadGenotype(nameOrPath: string): Genotype {
  if (Object.hasOwn(PUBLISHED, nameOrPath)) return parseGenotype(PUBLISHED[nameOrPath], nameOrPath);
  if (!fs.existsSync(nameOrPath)) {
    throw new GenotypeError(`genotype "${nameOrPath}" is neither a published cell (${publishedNames().join(', ')}) nor an existing file`);
  }
  let raw: unknown;
  const text = readCapped(nameOrPath);
  try {
    raw = JSON.parse(text);
  } catch (err) {
    // V8's message quotes the offending text ("Unexpected token r, "root:x:0:0"... is not valid JSON"): keep only
    // where it failed.
    const at = /position (\d+)/.exec((err as Error).message);
    throw new GenotypeError(`${nameOrPath}: not valid JSON${at ? ` (at position ${at[1]})` : ''}; a genotype is a JSON file with normal, normal_concat, reduce, reduce_concat`);
  }
  // Accept a search.json-style wrapper that holds the genotype under "genotype".
  if (raw && typeof raw === 'object' && Object.hasOwn(raw as object, 'genotype') && !Object.hasOwn(raw as object, 'normal')) {
    raw = (raw as { genotype: unknown }).genotype;
  }
  return parseGenotype(raw, nameOrPath);
}

/** Number of (node, pair) differences between two cells of the same node count (stability metric). */
export function genotypeDistance(a: Genotype, b: Genotype): number {
  let d = 0;
  for (const key of ['normal', 'reduce'] as const) {
    const na = a[key].nodes;
    const nb = b[key].nodes;
    for (let j = 0; j < Math.max(na.length, nb.length); j++) {
      const sa = new Set((na[j] ?? []).map((p) => p.join('@')));
      const sb = new Set((nb[j] ?? []).map((p) => p.join('@')));
      for (const p of sa) if (!sb.has(p)) d++;
      for (const p of sb) if (!sa.has(p)) d++;
    }
  }
  return d;
}
