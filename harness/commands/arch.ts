// `arch params`: size of an evaluation network built from a genotype (published name or JSON file).
import type { Command } from 'commander';
import { initBackend, type BackendChoice } from '../../nas/backend.js';
import { loadGenotype } from '../../nas/genotype.js';
import { measureEvalNetwork, type ModelSize } from '../../nas/network.js';
import { EXIT, InputError, act, processIO, subcommand } from './common.js';
import { inputFrom, intOption } from './flags.js';

export interface ArchParamsOptions {
  genotype: string;
  dataset: 'cifar10' | 'imagenet';
  channels?: number;
  layers?: number;
  backend?: BackendChoice;
}

const DATASET_NETS = {
  cifar10: { kind: 'cifar', numClasses: 10, channels: 36, layers: 20 },
  imagenet: { kind: 'imagenet', numClasses: 1000, channels: 48, layers: 14 },
} as const;

export async function archParams(o: ArchParamsOptions): Promise<ModelSize> {
  const d = DATASET_NETS[o.dataset];
  if (!d) throw new InputError(`--dataset must be cifar10 or imagenet, got "${o.dataset}"`);
  const genotype = await inputFrom(async () => loadGenotype(o.genotype));
  await initBackend(o.backend ?? 'auto');
  return measureEvalNetwork({
    kind: d.kind, channels: o.channels ?? d.channels, layers: o.layers ?? d.layers,
    numClasses: d.numClasses, inputChannels: 3, genotype,
  });
}

export function register(program: Command): void {
  const arch = subcommand(program, 'arch').description('inspect architectures');
  subcommand(arch, 'params')
    .description('params (without and with the auxiliary head) and mult-adds of an evaluation network')
    .requiredOption('--genotype <name|file>', 'published cell name (DARTS_V2, PC_DARTS_cifar, …) or a genotype JSON file')
    .option('--dataset <cifar10|imagenet>', 'network family and input size (32×32 or 224×224)', 'cifar10')
    .option('--channels <n>', 'initial channels C', intOption('--channels'))
    .option('--layers <n>', 'number of cells L', intOption('--layers'))
    .option('--backend <name>', 'tfjs backend', 'auto')
    .option('--json', 'print JSON')
    .action(async (o: ArchParamsOptions & { json?: boolean }, cmd: Command) => {
      await act(cmd, processIO, async () => {
        const size = await archParams(o);
        if (o.json) console.log(JSON.stringify(size));
        else {
          console.log(`params ${(size.params / 1e6).toFixed(2)}M (auxiliary head excluded, DARTS convention)`);
          console.log(`params with auxiliary head ${(size.paramsWithAux / 1e6).toFixed(2)}M`);
          console.log(`mult-adds ${(size.macs / 1e6).toFixed(0)}M`);
        }
        return { exitCode: EXIT.ok };
      });
    });
}
