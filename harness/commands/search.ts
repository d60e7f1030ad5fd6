// `search`: one architecture search in this process; writes DIR/genotype.json and DIR/search.json.
// The methods, their defaults and their checks come from the registry (methods/registry.ts).
import path from 'node:path';
import { Option, type Command } from 'commander';
import { initBackend, describeBackend } from '../../nas/backend.js';
import { merge, type SearchConfig, type SearchOverrides } from '../../nas/config.js';
import { METHOD_NAMES, defaultSearchConfig, listMethods, type MethodName } from '../../methods/registry.js';
import { searchConfigProblems } from '../suites/suite.js';
import { runSearchPhase } from '../run/search-phase.js';
import { consoleContext } from '../run/progress.js';
import { EXIT, InputError, act, processIO, subcommand, type CommandIO, type ExitCode } from './common.js';
import { addSizeFlags, floatOption, inputFrom, intOption, rangeOption, type SizeFlags } from './flags.js';

/** The `search` command's own flags (beyond the size flags it shares with `eval`). */
export interface SearchFlags {
  warmup?: number; nodes?: number; noSharing?: boolean; lr?: number; archLr?: number; tauEnd?: number; microBatch?: number;
}

export type SearchCommandOptions = SizeFlags & SearchFlags & { method: MethodName };

/** SearchConfig from the method's defaults plus the size flags (only the flags given override). */
export function searchConfigFromFlags(method: MethodName, f: SizeFlags & SearchFlags): SearchConfig {
  const o: SearchOverrides = {
    data: { dataset: f.dataset, dataDir: f.dataDir, imageSize: f.imageSize, trainLimit: f.subset },
    stem: f.dataset === 'imagenet' ? 'imagenet' : undefined,
    epochs: f.epochs, layers: f.layers, channels: f.channels, batchSize: f.batch, stepsPerEpoch: f.stepsPerEpoch,
    microBatch: f.microBatch,
    archWarmupEpochs: f.warmup,
    space: f.nodes ? { nodes: f.nodes } : undefined,
    entrannas: f.noSharing ? { featureSharing: false } : undefined,
    weights: f.lr !== undefined ? { lr: f.lr } : undefined,
    arch: f.archLr !== undefined ? { lr: f.archLr } : undefined,
    temperature: f.tauEnd !== undefined ? { end: f.tauEnd } : undefined,
  };
  return merge(defaultSearchConfig(method, f.seed), o);
}

/** What `search` does: EXIT.ok with a JSON summary on stdout, EXIT.diverged on a non-finite loss. */
export async function searchCommand(o: SearchCommandOptions, io: CommandIO = processIO): Promise<{ exitCode: ExitCode }> {
  const cfg = searchConfigFromFlags(o.method, o);
  // The suites' checks, with the suites' messages: the flags build a config, the config is what is validated.
  const problems = searchConfigProblems(cfg, { warmupGiven: o.warmup !== undefined });
  if (problems.length > 0) {
    throw new InputError(`search config (--method ${o.method}): ${problems.join('; ')}` +
      (problems.some((p) => p.startsWith('archWarmupEpochs')) ? ' (pass --warmup N below --epochs, or --warmup explicitly to keep α frozen)' : ''));
  }
  const info = await initBackend(o.backend, { threads: o.threads, allowCpuFallback: o.allowCpuFallback });
  io.err(`${describeBackend(info)}\n`);
  const outDir = path.resolve(o.out);
  const ctx = consoleContext(outDir, Boolean(o.resume), `search ${o.method} seed ${o.seed}`);
  const res = await inputFrom(() => runSearchPhase({ kind: 'search', config: cfg }, ctx));
  ctx.close();
  if (res.status === 'diverged') {
    io.err(`diverged: ${res.error}\n`);
    return { exitCode: EXIT.diverged };
  }
  const s = res.search!;
  io.out(`${JSON.stringify({
    genotype: path.join(outDir, 'genotype.json'), search: path.join(outDir, 'search.json'),
    supernetValAcc: s.supernetValAcc, derivedValAcc: s.derivedValAcc, msPerStep: res.msPerStep, steps: res.steps,
    memoryStrategy: s.memoryStrategy,
    peakTensorMB: +(ctx.peakTensorBytes / 2 ** 20).toFixed(1), peakRssMB: +(process.resourceUsage().maxRSS / 1024).toFixed(0),
  })}\n`);
  return { exitCode: EXIT.ok };
}

/** The registry as `--help` text: one line per method. */
function methodsHelp(): string {
  const width = Math.max(...METHOD_NAMES.map((n) => n.length));
  return ['', 'Methods:', ...listMethods().map((e) => `  ${e.name.padEnd(width)}  ${e.summary}`)].join('\n');
}

export function register(program: Command): void {
  const sharing = listMethods().filter((e) => e.traits.featureSharing).map((e) => e.name).join(', ');
  addSizeFlags(
    subcommand(program, 'search')
      .description('run one architecture search; writes DIR/genotype.json and DIR/search.json')
      .addOption(new Option('--method <name>', 'search method').choices([...METHOD_NAMES]).makeOptionMandatory()),
  )
    .option('--warmup <n>', 'epochs with α frozen', intOption('--warmup'))
    .option('--nodes <n>', 'intermediate nodes per cell (extended space)', intOption('--nodes', 1))
    .option('--no-sharing', `switch feature sharing off (ablation; methods with sharing: ${sharing})`)
    .option('--lr <x>', 'weight learning rate', floatOption('--lr'))
    .option('--arch-lr <x>', 'architecture learning rate', floatOption('--arch-lr'))
    // τ ≤ 0 divides α by zero or flips the softmax: refused here, as the suite schema refuses it.
    .option('--tau-end <x>', 'anneal the softmax temperature linearly from 1 to x (> 0) over the search', rangeOption('--tau-end', 0))
    .option('--micro-batch <n>', 'split each batch into micro-batches of n with gradient accumulation (memory; 0 = off)', intOption('--micro-batch'))
    .addHelpText('after', methodsHelp())
    .action(async (o: SizeFlags & Omit<SearchFlags, 'noSharing'> & { method: MethodName; sharing?: boolean }, cmd: Command) => {
      await act(cmd, processIO, () => searchCommand({ ...o, noSharing: o.sharing === false }));
    });
}
