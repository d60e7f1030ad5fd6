// The data interface the training loops consume. Every dataset (CIFAR-10, ImageNet, Fashion-MNIST, MNIST,
// IDX files, synthetic) is exposed as two Splits; a Split streams normalised NHWC float batches in an order
// and with augmentations that depend only on (seed, epoch) and the split, never on timing or batch layout
// (augmentation parameters of an image depend on (seed, epoch, image index) only).

/** Image shape as [height, width, channels]. */
export type Shape3 = [number, number, number];

export interface Batch {
  /** n*H*W*C values, NHWC, normalised with the dataset mean/std (after augmentation). */
  x: Float32Array;
  y: Int32Array;
  n: number;
  /** H, W, C of one image. */
  shape: Shape3;
  /** Index of each image in its dataset split (train or test) before any subset: for debugging and tests. */
  indices: Int32Array;
}

export interface ColorJitterConfig {
  /** Factors drawn uniformly from [max(0, 1-b), 1+b], as torchvision ColorJitter. */
  brightness: number;
  contrast: number;
  saturation: number;
  /** Hue shift drawn uniformly from [-hue, hue] (fraction of the colour circle, ≤ 0.5). */
  hue: number;
}

/** DARTS ImageNet training transforms use ColorJitter(0.4, 0.4, 0.4, 0.2). */
export const DEFAULT_COLOR_JITTER: ColorJitterConfig = { brightness: 0.4, contrast: 0.4, saturation: 0.4, hue: 0.2 };

/**
 * Training-time augmentation. EvalConfig.augment ({crop, flip, cutout, colorJitter}) is assignable to it.
 * In-memory datasets (CIFAR, MNIST-like, synthetic): random crop after zero padding, horizontal flip,
 * [colour jitter], normalisation, cutout (zeroes a square of the normalised image, as DARTS does).
 * ImageNet: `crop` means RandomResizedCrop(scale, ratio) to the output size, then flip, colour jitter,
 * normalisation, cutout. `augment: false` in BatchOptions means the evaluation transform.
 */
export interface AugmentConfig {
  crop?: boolean;
  /** Zero padding of the random crop, in pixels of the (possibly resized) image. Default 4. */
  padding?: number;
  flip?: boolean;
  /** Side of the cutout square; 0 or undefined disables it. */
  cutout?: number;
  /** true = DEFAULT_COLOR_JITTER. Applies to 3-channel images only (1-channel: brightness and contrast). */
  colorJitter?: boolean | Partial<ColorJitterConfig>;
  /** RandomResizedCrop area fraction range (ImageNet). Default [0.08, 1]. */
  scale?: [number, number];
  /** RandomResizedCrop aspect-ratio range (ImageNet). Default [3/4, 4/3]. */
  ratio?: [number, number];
}

/** The DARTS CIFAR-10 training augmentation (cutout is added in evaluation only). */
export const CIFAR_AUGMENT: AugmentConfig = { crop: true, padding: 4, flip: true, cutout: 0 };
/** The DARTS / PC-DARTS ImageNet training augmentation. */
export const IMAGENET_AUGMENT: AugmentConfig = { crop: true, flip: true, colorJitter: true };

export interface BatchOptions {
  batchSize: number;
  seed: number;
  epoch: number;
  shuffle: boolean;
  augment: AugmentConfig | false;
  /** Drop the last incomplete batch (default false). */
  dropLast?: boolean;
  /** Stop after this many batches (0 or undefined: all). */
  limitBatches?: number;
  /** Streaming splits (ImageNet): batches decoded ahead of the consumer (default 2). In-memory splits ignore it. */
  prefetch?: number;
}

export interface Normalization {
  mean: number[];
  std: number[];
}

export interface Split {
  /** e.g. 'cifar10/train', 'cifar10/train/weights'. Salts the shuffle order so that two subsets differ. */
  readonly name: string;
  readonly size: number;
  readonly numClasses: number;
  readonly imageShape: Shape3;
  /** Label of each element of the split, in split order. */
  readonly labels: Int32Array;
  readonly normalization: Normalization;
  classCounts(): number[] | Promise<number[]>;
  batches(o: BatchOptions): AsyncGenerator<Batch>;
  /** A split of the elements at `indices` (positions in this split, each in [0, size)). */
  subset(indices: Int32Array, name?: string): Split;
}

export interface LoadedDataset {
  name: string;
  numClasses: number;
  imageShape: Shape3;
  train: Split;
  test: Split;
  description: string;
  classNames?: string[];
  /** Where the data came from (directory or package), for run records. */
  source?: string;
}

/** A data problem (missing file, bad format, label out of range...). The message names the file and the problem. */
export class DataError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DataError';
  }
}
