// `eval`: train a genotype from scratch and test it; writes DIR/eval.json.
import path from 'node:path';
import type { Command } from 'commander';
import { initBackend, describeBackend } from '../../nas/backend.js';
import { defaultEvalConfig, merge, type EvalConfig } from '../../nas/config.js';
import { evalConfigProblems } from '../suites/suite.js';
import { runEvalPhase } from '../run/eval-phase.js';
import { consoleContext } from '../run/progress.js';
import { EXIT, InputError, act, processIO, subcommand, type CommandIO, type ExitCode } from './common.js';
import { addSizeFlags, floatOption, inputFrom, intOption, type SizeFlags } from './flags.js';

/** The `eval` command's own flags (beyond the size flags it shares with `search`). */
export interface EvalFlags {
  auxiliary?: boolean;
  cutout?: number;
  dropPath?: number;
  lr?: number;
}

export type EvalCommandOptions = SizeFlags & EvalFlags & { genotype: string };

export function evalConfigFromFlags(f: SizeFlags & EvalFlags): EvalConfig {
  const imagenet = f.dataset === 'imagenet';
  const base = defaultEvalConfig(f.seed);
  const cfg = merge(base, {
    data: { dataset: f.dataset, dataDir: f.dataDir, imageSize: f.imageSize, trainLimit: f.subset, testLimit: f.testSubset },
    net: imagenet ? 'imagenet' : 'cifar',
    layers: f.layers ?? (imagenet ? 14 : undefined),
    channels: f.channels ?? (imagenet ? 48 : undefined),
    epochs: f.epochs, batchSize: f.batch, stepsPerEpoch: f.stepsPerEpoch,
    auxiliary: f.auxiliary, dropPath: f.dropPath,
    weights: f.lr !== undefined ? { lr: f.lr } : undefined,
    augment: f.cutout !== undefined ? { cutout: f.cutout } : undefined,
  });
  if (imagenet) {
    cfg.labelSmoothing = 0.1;
    cfg.weights = { ...cfg.weights, weightDecay: 3e-5 };
    cfg.augment = { ...cfg.augment, cutout: f.cutout ?? 0, colorJitter: true };
  }
  return cfg;
}

/** What `eval` does: EXIT.ok with a JSON summary on stdout, EXIT.diverged on a non-finite loss. */
export async function evalCommand(o: EvalCommandOptions, io: CommandIO = processIO): Promise<{ exitCode: ExitCode }> {
  const cfg = evalConfigFromFlags(o);
  const problems = evalConfigProblems(cfg);
  if (problems.length > 0) throw new InputError(`eval config: ${problems.join('; ')}`);
  const info = await initBackend(o.backend, { threads: o.threads, allowCpuFallback: o.allowCpuFallback });
  io.err(`${describeBackend(info)}\n`);
  const outDir = path.resolve(o.out);
  const ctx = consoleContext(outDir, Boolean(o.resume), `eval seed ${o.seed}`);
  const res = await inputFrom(() => runEvalPhase({ kind: 'eval', config: cfg, genotype: o.genotype }, ctx));
  ctx.close();
  if (res.status === 'diverged') {
    io.err(`diverged: ${res.error}\n`);
    return { exitCode: EXIT.diverged };
  }
  io.out(`${JSON.stringify({ eval: path.join(outDir, 'eval.json'), ...res.eval, lossTrace: undefined, msPerStep: res.msPerStep })}\n`);
  return { exitCode: EXIT.ok };
}

export function register(program: Command): void {
  addSizeFlags(
    subcommand(program, 'eval')
      .description('train a genotype from scratch with the DARTS protocol (settable for proxy scale) and test it')
      .requiredOption('--genotype <file|name>', 'genotype JSON (e.g. out/genotype.json) or a published cell name'),
  )
    .option('--test-subset <n>', 'test on a seeded class-balanced subset of n images', intOption('--test-subset', 1))
    .option('--no-auxiliary', 'no auxiliary head')
    .option('--cutout <n>', 'cutout size (0 = off)', intOption('--cutout'))
    .option('--drop-path <p>', 'drop-path probability', floatOption('--drop-path'))
    .option('--lr <x>', 'learning rate', floatOption('--lr'))
    .action(async (o: EvalCommandOptions, cmd: Command) => {
      await act(cmd, processIO, () => evalCommand(o));
    });
}
