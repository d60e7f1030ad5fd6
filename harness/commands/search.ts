// `search`: one architecture search in this process; writes DIR/genotype.json and DIR/search.json.
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { Option, type Command } from 'commander';
import { initBackend, describeBackend, BACKEND_NAMES, type BackendChoice } from '../../nas/backend.js';
import { METHODS, defaultSearchConfig, merge, type MethodName, type SearchConfig, type SearchOverrides } from '../../nas/config.js';
import { runSearchPhase } from '../run/search-phase.js';
import { createReporter } from '../run/progress.js';
import { floatOption, intOption, threadsOption } from './flags.js';
import type { PhaseContext } from '../run/phase-types.js';

export interface SizeFlags {
  dataset: string;
  dataDir?: string;
  epochs?: number;
  seed: number;
  layers?: number;
  channels?: number;
  batch?: number;
  imageSize?: number;
  subset?: number;
  testSubset?: number;
  stepsPerEpoch?: number;
  backend: BackendChoice;
  threads?: number;
  out: string;
  resume?: boolean;
}

/** The `search` command's own flags (beyond the size flags it shares with `eval`). */
export interface SearchFlags {
  warmup?: number; nodes?: number; noSharing?: boolean; lr?: number; archLr?: number; tauEnd?: number; microBatch?: number;
}

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

/** A PhaseContext for an in-process run that reports progress on the terminal. */
export function consoleContext(outDir: string, resume: boolean, label: string): PhaseContext & { peakTensorBytes: number; close(): void } {
  const reporter = createReporter(process.stderr);
  reporter.start(label, label);
  const ctx = {
    outDir, resume, peakTensorBytes: 0,
    progress: (p: Parameters<PhaseContext['progress']>[0]) => reporter.update(label, p),
    sampleMemory: () => { ctx.peakTensorBytes = Math.max(ctx.peakTensorBytes, tf.memory().numBytes); },
    notePeakTensorBytes: (b: number) => { ctx.peakTensorBytes = Math.max(ctx.peakTensorBytes, b); },
    close: () => { reporter.finish(label, 'done'); reporter.close(); },
  };
  return ctx;
}

export function addSizeFlags(cmd: Command): Command {
  return cmd
    .option('--dataset <name>', 'cifar10 | imagenet | fashion-mnist | mnist | idx | synthetic', 'cifar10')
    .option('--data-dir <dir>', 'dataset directory (or ENTRANNAS_DATA_DIR)')
    .option('--epochs <n>', 'epochs', intOption('--epochs', 1))
    .option('--seed <n>', 'seed for everything', intOption('--seed'), 0)
    .option('--layers <n>', 'cells', intOption('--layers', 1))
    .option('--channels <n>', 'initial channels C', intOption('--channels', 1))
    .option('--batch <n>', 'batch size', intOption('--batch', 1))
    .option('--image-size <n>', 'resize images to n×n (proxy runs)', intOption('--image-size', 1))
    .option('--subset <n>', 'use a seeded class-balanced subset of n training images', intOption('--subset', 1))
    .option('--steps-per-epoch <n>', 'cap optimisation steps per epoch (proxy runs)', intOption('--steps-per-epoch', 1))
    .addOption(new Option('--backend <name>', 'tfjs backend').choices([...BACKEND_NAMES]).default('auto'))
    .addOption(threadsOption())
    .option('--out <dir>', 'output directory', 'out')
    .option('--resume', 'continue from the checkpoint in --out');
}

export function register(program: Command): void {
  addSizeFlags(
    program
      .command('search')
      .description('run one architecture search; writes DIR/genotype.json and DIR/search.json')
      .addOption(new Option('--method <name>', 'search method').choices([...METHODS]).makeOptionMandatory()),
  )
    .option('--warmup <n>', 'epochs with α frozen', intOption('--warmup'))
    .option('--nodes <n>', 'intermediate nodes per cell (extended space)', intOption('--nodes', 1))
    .option('--no-sharing', 'EnTranNAS: switch feature sharing off (ablation)')
    .option('--lr <x>', 'weight learning rate', floatOption('--lr'))
    .option('--arch-lr <x>', 'architecture learning rate', floatOption('--arch-lr'))
    .option('--tau-end <x>', 'anneal the softmax temperature linearly from 1 to x over the search', floatOption('--tau-end'))
    .option('--micro-batch <n>', 'split each batch into micro-batches of n with gradient accumulation (memory; 0 = off)', intOption('--micro-batch'))
    .action(async (o: SizeFlags & Omit<SearchFlags, 'noSharing'> & { method: MethodName; sharing?: boolean }) => {
      const cfg = searchConfigFromFlags(o.method, { ...o, noSharing: o.sharing === false });
      const info = await initBackend(o.backend, { threads: o.threads });
      console.error(describeBackend(info));
      const outDir = path.resolve(o.out);
      const ctx = consoleContext(outDir, Boolean(o.resume), `search ${o.method} seed ${o.seed}`);
      const res = await runSearchPhase({ kind: 'search', config: cfg }, ctx);
      ctx.close();
      if (res.status === 'diverged') {
        console.error(`diverged: ${res.error}`);
        process.exitCode = 2;
        return;
      }
      const s = res.search!;
      console.log(JSON.stringify({
        genotype: path.join(outDir, 'genotype.json'), search: path.join(outDir, 'search.json'),
        supernetValAcc: s.supernetValAcc, derivedValAcc: s.derivedValAcc, msPerStep: res.msPerStep, steps: res.steps,
        memoryStrategy: s.memoryStrategy,
        peakTensorMB: +(ctx.peakTensorBytes / 2 ** 20).toFixed(1), peakRssMB: +(process.resourceUsage().maxRSS / 1024).toFixed(0),
      }));
    });
}
