// The high-water mark of tensor bytes inside a piece of work (a step), without tf.profile: tf.profile wraps every
// kernel in a backend timer whose promise rejects unhandled when a kernel throws (e.g. a full wasm heap), so the
// real error was lost behind a TypeError and the process died on the unhandled rejection.
import * as tf from '@tensorflow/tfjs-core';

/**
 * Tracks the high-water mark of tf.memory().numBytes at every tensor allocation by wrapping the engine's
 * trackTensor (an internal of tfjs-core 4.x). When that hook is missing, peak() falls back to what sample() saw.
 */
export class TensorPeak {
  private peakBytes = 0;
  private restore: (() => void) | undefined;
  readonly source: 'every-allocation' | 'between-steps';

  constructor() {
    const engine = tf.engine() as unknown as { trackTensor?: (...a: unknown[]) => void; state: { numBytes: number } };
    const orig = engine.trackTensor;
    if (typeof orig === 'function' && typeof engine.state?.numBytes === 'number') {
      const had = Object.prototype.hasOwnProperty.call(engine, 'trackTensor');
      const self = this;
      engine.trackTensor = function (this: typeof engine, ...args: unknown[]) {
        orig.apply(this, args);
        if (this.state.numBytes > self.peakBytes) self.peakBytes = this.state.numBytes;
      };
      this.restore = () => {
        if (had) engine.trackTensor = orig;
        else delete (engine as { trackTensor?: unknown }).trackTensor;
      };
      this.source = 'every-allocation';
    } else {
      this.source = 'between-steps';
    }
    this.sample();
  }

  sample(): void {
    const b = tf.memory().numBytes;
    if (b > this.peakBytes) this.peakBytes = b;
  }

  peak(): number {
    this.sample();
    return this.peakBytes;
  }

  stop(): void {
    this.restore?.();
    this.restore = undefined;
  }
}
