// In-memory (or generated-on-demand) splits: CIFAR-10, Fashion-MNIST, MNIST, IDX files, synthetic data.
// Images are kept as uint8 HWC; a batch is converted to normalised float NHWC when it is produced.

import { Rng } from '../rng.js';
import { augRng, resizeImage, sampleAugParams, transformInto, type ResizeMethod } from './augment.js';
import type { Batch, BatchOptions, Normalization, Shape3, Split } from './types.js';

/** The images of one dataset split. */
export interface ImageStore {
  readonly count: number;
  readonly shape: Shape3;
  /** Image i as uint8 HWC. May be a view of a shared buffer or `scratch`: read it before the next call. */
  image(i: number, scratch: Uint8Array): Uint8Array;
}

export class ArrayStore implements ImageStore {
  constructor(readonly data: Uint8Array, readonly count: number, readonly shape: Shape3) {
    const per = shape[0] * shape[1] * shape[2];
    if (data.length !== count * per) throw new Error(`ArrayStore: ${data.length} bytes for ${count} images of ${shape.join('x')}`);
  }

  image(i: number): Uint8Array {
    const per = this.shape[0] * this.shape[1] * this.shape[2];
    return this.data.subarray(i * per, (i + 1) * per);
  }
}

export function checkBatchOptions(o: BatchOptions, where: string): void {
  if (!Number.isInteger(o.batchSize) || o.batchSize < 1) throw new Error(`${where}: batchSize must be a positive integer, got ${o.batchSize}`);
  if (!Number.isInteger(o.seed)) throw new Error(`${where}: seed must be an integer, got ${o.seed}`);
  if (!Number.isInteger(o.epoch) || o.epoch < 0) throw new Error(`${where}: epoch must be a non-negative integer, got ${o.epoch}`);
  if (o.limitBatches !== undefined && (!Number.isInteger(o.limitBatches) || o.limitBatches < 0)) {
    throw new Error(`${where}: limitBatches must be a non-negative integer, got ${o.limitBatches}`);
  }
}

/**
 * Positions of each batch: a permutation drawn from the stream (seed, split name, epoch) when shuffling,
 * the natural order otherwise; the last short batch is kept unless dropLast; at most limitBatches batches.
 */
export function batchPlan(size: number, o: BatchOptions, name: string): Int32Array[] {
  const order = o.shuffle ? new Rng(o.seed).child(`data/order/${name}/e${o.epoch}`).permutation(size) : Int32Array.from({ length: size }, (_, i) => i);
  let count = o.dropLast ? Math.floor(size / o.batchSize) : Math.ceil(size / o.batchSize);
  if (o.limitBatches) count = Math.min(count, o.limitBatches);
  const plan: Int32Array[] = [];
  for (let b = 0; b < count; b++) plan.push(order.subarray(b * o.batchSize, Math.min(size, (b + 1) * o.batchSize)));
  return plan;
}

export function countClasses(labels: Int32Array, numClasses: number): number[] {
  const counts = new Array<number>(numClasses).fill(0);
  for (const l of labels) counts[l]++;
  return counts;
}

/** Map positions of a split to positions of its parent, with range checks. */
export function composeIndices(parent: Int32Array, indices: Int32Array, where: string): Int32Array {
  const out = new Int32Array(indices.length);
  for (let i = 0; i < indices.length; i++) {
    const k = indices[i];
    if (!Number.isInteger(k) || k < 0 || k >= parent.length) throw new Error(`${where}.subset: index ${k} outside [0, ${parent.length})`);
    out[i] = parent[k];
  }
  return out;
}

export class MemorySplit implements Split {
  readonly size: number;
  readonly imageShape: Shape3;
  readonly labels: Int32Array;

  /**
   * @param store images; `pos` are the positions in the store of this split's elements, `orig` their index in
   *   the dataset split (seeds the per-image augmentation, reported in Batch.indices), `storeLabels` per store image.
   */
  constructor(
    readonly name: string,
    readonly store: ImageStore,
    readonly storeLabels: Int32Array,
    readonly pos: Int32Array,
    readonly orig: Int32Array,
    readonly numClasses: number,
    readonly normalization: Normalization,
  ) {
    this.size = pos.length;
    this.imageShape = [...store.shape] as Shape3;
    this.labels = new Int32Array(pos.length);
    for (let i = 0; i < pos.length; i++) this.labels[i] = storeLabels[pos[i]];
  }

  static full(name: string, store: ImageStore, labels: Int32Array, numClasses: number, norm: Normalization): MemorySplit {
    const all = Int32Array.from({ length: store.count }, (_, i) => i);
    return new MemorySplit(name, store, labels, all, all, numClasses, norm);
  }

  classCounts(): number[] {
    return countClasses(this.labels, this.numClasses);
  }

  subset(indices: Int32Array, name?: string): MemorySplit {
    return new MemorySplit(
      name ?? `${this.name}/subset`, this.store, this.storeLabels,
      composeIndices(this.pos, indices, this.name), composeIndices(this.orig, indices, this.name),
      this.numClasses, this.normalization,
    );
  }

  /**
   * A compact copy of this split's images (only its elements, in a new buffer) resized to oh×ow; `this` when the
   * size is unchanged and `compact` is false. Augmentation streams and Batch.indices keep the original indices.
   */
  resized(oh: number, ow: number, method: ResizeMethod = 'area', compact = false): MemorySplit {
    const [H, W, C] = this.imageShape;
    if (oh === H && ow === W && !compact) return this;
    const per = oh * ow * C;
    const data = new Uint8Array(this.size * per);
    const scratch = new Uint8Array(H * W * C);
    for (let i = 0; i < this.size; i++) {
      const img = this.store.image(this.pos[i], scratch);
      data.set(oh === H && ow === W ? img : resizeImage(img, H, W, C, oh, ow, method), i * per);
    }
    const store = new ArrayStore(data, this.size, [oh, ow, C]);
    return new MemorySplit(this.name, store, this.labels, Int32Array.from({ length: this.size }, (_, i) => i), this.orig, this.numClasses, this.normalization);
  }

  async *batches(o: BatchOptions): AsyncGenerator<Batch> {
    checkBatchOptions(o, this.name);
    const [H, W, C] = this.imageShape;
    const per = H * W * C;
    const scratch = new Uint8Array(per);
    for (const part of batchPlan(this.size, o, this.name)) {
      const n = part.length;
      const x = new Float32Array(n * per);
      const y = new Int32Array(n);
      const indices = new Int32Array(n);
      for (let j = 0; j < n; j++) {
        const k = part[j];
        const orig = this.orig[k];
        const p = o.augment ? sampleAugParams(augRng(o.seed, o.epoch, orig), o.augment, H, W) : null;
        transformInto(this.store.image(this.pos[k], scratch), H, W, C, x, j * per, p, this.normalization);
        y[j] = this.labels[k];
        indices[j] = orig;
      }
      yield { x, y, n, shape: [H, W, C], indices };
    }
  }
}
