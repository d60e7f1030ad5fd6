// Named parameter store: every tf.Variable a network owns, with its kind, so that optimisers, counters,
// checkpoints and disposal all read one place. Initialisation draws from the store's seeded Rng.
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from './rng.js';

/** weight: trained by SGD. arch: α/β, trained by Adam. state: BN running statistics (not trained). */
export type ParamKind = 'weight' | 'arch' | 'state';

export type Init =
  | { kind: 'kaiming-uniform'; fanIn: number } // PyTorch's default for conv and linear: U(-1/√fanIn, 1/√fanIn)
  | { kind: 'normal'; std: number }
  | { kind: 'constant'; value: number };

export interface ParamEntry {
  path: string;
  kind: ParamKind;
  variable: tf.Variable;
}

export interface ParamSnapshot {
  [path: string]: { kind: ParamKind; shape: number[]; data: Float32Array };
}

export class ParamStore {
  private readonly entries = new Map<string, ParamEntry>();

  constructor(readonly rng: Rng) {}

  create(path: string, kind: ParamKind, shape: number[], init: Init): tf.Variable {
    if (this.entries.has(path)) throw new Error(`parameter "${path}" is defined twice`);
    const n = shape.reduce((a, b) => a * b, 1);
    let values: Float32Array;
    if (init.kind === 'kaiming-uniform') {
      const bound = 1 / Math.sqrt(init.fanIn);
      values = this.rng.uniformArray(n, -bound, bound);
    } else if (init.kind === 'normal') {
      values = this.rng.normalArray(n, init.std);
    } else {
      values = new Float32Array(n).fill(init.value);
    }
    const initial = tf.tensor(values, shape, 'float32');
    const variable = tf.variable(initial, kind !== 'state');
    initial.dispose();
    this.entries.set(path, { path, kind, variable });
    return variable;
  }

  get(path: string): tf.Variable {
    const e = this.entries.get(path);
    if (!e) throw new Error(`no parameter "${path}"`);
    return e.variable;
  }

  has(path: string): boolean {
    return this.entries.has(path);
  }

  list(kind?: ParamKind, filter?: (path: string) => boolean): ParamEntry[] {
    const out: ParamEntry[] = [];
    for (const e of this.entries.values()) {
      if ((kind === undefined || e.kind === kind) && (!filter || filter(e.path))) out.push(e);
    }
    return out;
  }

  variables(kind: ParamKind, filter?: (path: string) => boolean): tf.Variable[] {
    return this.list(kind, filter).map((e) => e.variable);
  }

  /** Number of scalar parameters of a kind, optionally restricted by a path filter. */
  count(kind: ParamKind = 'weight', filter?: (path: string) => boolean): number {
    return this.list(kind, filter).reduce((a, e) => a + e.variable.size, 0);
  }

  snapshot(): ParamSnapshot {
    const out: ParamSnapshot = {};
    for (const e of this.entries.values()) {
      out[e.path] = { kind: e.kind, shape: e.variable.shape.slice(), data: e.variable.dataSync() as Float32Array };
    }
    return out;
  }

  /** Assign values from a snapshot. Every path of the store must be present with the same shape. */
  load(snap: ParamSnapshot): void {
    for (const e of this.entries.values()) {
      const s = snap[e.path];
      if (!s) throw new Error(`checkpoint has no parameter "${e.path}"`);
      if (s.shape.join(',') !== e.variable.shape.join(',')) {
        throw new Error(`checkpoint parameter "${e.path}" has shape [${s.shape}] but the network wants [${e.variable.shape}]`);
      }
      tf.tidy(() => e.variable.assign(tf.tensor(s.data, s.shape, 'float32')));
    }
  }

  dispose(): void {
    for (const e of this.entries.values()) e.variable.dispose();
    this.entries.clear();
  }
}
