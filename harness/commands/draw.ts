// `arch draw`: DARTS-style drawings of a genotype's cells (published name or genotype JSON file, DARTS or DST
// form) as SVG, PNG or DOT. Registered under `arch` by harness/commands/arch.ts.
import fs from 'node:fs';
import path from 'node:path';
import { Option, type Command } from 'commander';
import { GenotypeError, loadGenotype } from '../../nas/genotype.js';
import { writeFileAtomicAsync } from '../../nas/util/fs.js';
import { drawGenotype, type CellKind, type DrawFormat } from '../views/cell-drawing.js';
import { EXIT, InputError, act, processIO, subcommand, type CommandIO, commandGroup } from './common.js';

export interface DrawOptions {
  genotype: string;
  cell?: CellKind | 'both';
  format?: DrawFormat;
  /** Output file; default stdout (svg, dot) — PNG needs a file. */
  out?: string;
}

export interface DrawOutcome {
  exitCode: number;
  output: string | Buffer;
  file?: string;
}

/** The format from --format, else from the --out extension, else svg. */
export function drawFormat(o: Pick<DrawOptions, 'format' | 'out'>): DrawFormat {
  if (o.format) return o.format;
  const ext = o.out ? path.extname(o.out).slice(1).toLowerCase() : '';
  return ext === 'png' || ext === 'dot' || ext === 'svg' ? ext : ext === 'gv' ? 'dot' : 'svg';
}

/** Load the genotype (the same loader and messages as `arch params`) and draw it. */
export async function drawCommand(o: DrawOptions): Promise<DrawOutcome> {
  let genotype;
  try {
    genotype = loadGenotype(o.genotype);
  } catch (err) {
    if (err instanceof GenotypeError) throw new InputError(err.message);
    throw err;
  }
  const format = drawFormat(o);
  if (format === 'png' && !o.out) throw new InputError('--format png needs --out FILE (PNG is not written to a terminal)');
  const name = fs.existsSync(o.genotype) ? path.basename(o.genotype, path.extname(o.genotype)) : o.genotype;
  const output = await drawGenotype(genotype, { cell: o.cell ?? 'both', format, name });
  if (o.out) await writeFileAtomicAsync(o.out, output);
  return { exitCode: EXIT.ok, output, file: o.out };
}

export function register(program: Command, io: CommandIO = processIO): void {
  subcommand(commandGroup(program, 'arch', 'inspect architectures'), 'draw')
    .description('DARTS-style cell drawing (inputs green, nodes blue, output yellow, edges labelled with their op) as SVG, PNG or DOT; Graphviz as WebAssembly, no system Graphviz')
    .requiredOption('--genotype <name|file>', 'published cell name (DARTS_V2, PC_DARTS_cifar, …) or a genotype JSON file (DARTS or DST form, or a search.json)')
    .addOption(new Option('--cell <cell>', 'which cell').choices(['normal', 'reduce', 'both']).default('both'))
    .addOption(new Option('--format <format>', 'output format (default: from the --out extension, else svg)').choices(['svg', 'png', 'dot']))
    .option('--out <file>', 'output file (default: stdout; PNG needs a file)')
    .action(async function (this: Command, o: DrawOptions) {
      const r = await act(this, io, () => drawCommand(o));
      if (!r) return;
      if (r.file) io.err(`wrote ${r.file}\n`);
      else io.out(typeof r.output === 'string' ? r.output : r.output.toString('base64'));
    });
}
