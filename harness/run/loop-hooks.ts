// A phase's context as the training loops' hooks (nas/train.ts): the one adapter the search and eval phases share.
import path from 'node:path';
import type { LoopHooks } from '../../nas/train.js';
import type { PhaseContext } from './phase-types.js';

/** Progress and memory samples go to the context; checkpoints live in <outDir>/checkpoint. */
export function loopHooks(ctx: PhaseContext): LoopHooks {
  return {
    progress: (p) => ctx.progress(p),
    sampleMemory: () => ctx.sampleMemory(),
    notePeakTensorBytes: ctx.notePeakTensorBytes ? (b) => ctx.notePeakTensorBytes!(b) : undefined,
    checkpointDir: path.join(ctx.outDir, 'checkpoint'),
    resume: ctx.resume,
    signal: ctx.signal,
    clock: ctx.clock,
  };
}
