// The machine: the two hardware identities this project writes, each with one role.
//
//   deviceClass   'gpu:<model>' or 'cpu:<model> x<threads>'. The UNIT OF DEVICE COST: a run record's
//                 measures.deviceClass says what its GPU-days (device-days) were spent on, and gpu-factors.ts
//                 normalises GPU-days by the model it names. Human-readable; the backend does not enter it.
//   machineClass  'cpu-amd-epyc-7b13-x2-wasm-simd', 'gpu-nvidia-a100-…-tensorflow-gpu'. The COMPARISON KEY of the
//                 performance history (harness/perf): a slug of hardware plus backend, used as a directory name.
//                 Figures are only ever compared within one machine class, because the same chip runs the same
//                 step at very different speeds under wasm, wasm+SIMD or tfjs-node.
// Both are derived from the same facts (CPU model, threads, GPU model) but answer different questions, so they are
// kept as two functions here rather than one string parsed two ways.
import type { BackendChoice } from '../../nas/backend.js';
import type { EnvProvenance } from '../results/record.js';

// ---------------------------------------------------------------------------------------------------------------
// Device class: what a run's device-days were spent on

/** The unit of device cost: 'gpu:<model>' on a GPU backend, 'cpu:<model> x<threads>' otherwise. */
export function deviceClass(device: 'gpu' | 'cpu', facts: { cpuModel: string; threads: number; gpuModel?: string }): string {
  return device === 'gpu' ? `gpu:${facts.gpuModel ?? 'unknown'}` : `cpu:${facts.cpuModel} x${facts.threads}`;
}

// ---------------------------------------------------------------------------------------------------------------
// Machine class: the comparison key of the performance history

/** The env fields that decide the machine class. */
export type MachineFields = Pick<EnvProvenance, 'cpuModel' | 'backend' | 'threads' | 'simd'> & { gpuModel?: string };

export function slugify(s: string): string {
  return s
    .toLowerCase()
    .replace(/\((r|tm|c)\)/g, ' ')
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
}

/** Drop the words that vary between tools but not between chips ("(R)", "CPU", "64-Core Processor"). */
function cpuSlug(model: string): string {
  const cleaned = model
    .replace(/\((r|tm|c)\)/gi, ' ')
    .replace(/\b\d+-core\b/gi, ' ')
    .replace(/\b(cpu|processor)\b/gi, ' ')
    .replace(/@/g, ' ');
  return slugify(cleaned) || 'unknown-cpu';
}

/**
 * The comparison key of history figures: hardware plus backend, slugified, e.g.
 *   cpu-amd-epyc-7b13-x2-wasm-simd        (CPU model, threads the backend used, backend, SIMD)
 *   gpu-nvidia-a100-sxm4-40gb-tensorflow-gpu   (GPU backends name the GPU: the CPU barely matters there)
 * Figures from different machine classes are never compared.
 */
export function machineClass(env: MachineFields): string {
  const backend = slugify(env.backend) || 'unknown-backend';
  if (env.gpuModel && /gpu/i.test(env.backend)) return `gpu-${slugify(env.gpuModel)}-${backend}`;
  const parts = ['cpu', cpuSlug(env.cpuModel), `x${env.threads}`, backend];
  if (env.simd) parts.push('simd');
  return parts.join('-');
}

/** What the backend reports (nas/backend.ts BackendInfo has these fields). */
export interface BackendFields {
  name: string;
  threads: number;
  simd: boolean;
}

/**
 * The machine-class fields of this machine: CPU model from `cpus[0].model` (pass os.cpus()), plus the backend
 * that would be used and, on GPU backends, the GPU model. Tests pass their own values.
 */
export function localMachineFields(backend: BackendFields, cpus: ReadonlyArray<{ model: string }>, gpuModel?: string): MachineFields {
  return {
    cpuModel: cpus[0]?.model?.trim() || 'unknown',
    backend: backend.name,
    threads: backend.threads,
    simd: backend.simd,
    ...(gpuModel ? { gpuModel } : {}),
  };
}

/** How a command learns this machine's fields for a backend; tests pass their own instead of starting one. */
export type MachineProbe = (backend: BackendChoice) => Promise<MachineFields>;

/**
 * Initialise the backend `choice` would pick and describe this machine the way run records do (measure/env.ts:
 * CPU model from os.cpus(), GPU model from nvidia-smi). Loads tfjs lazily, so that reading history does not.
 */
export const probeLocalMachine: MachineProbe = async (choice) => {
  const { initBackend } = await import('../../nas/backend.js');
  const env = await import('./env.js');
  const info = await initBackend(choice);
  return localMachineFields(info, [{ model: env.cpuModel() }], info.device === 'gpu' ? env.gpuModel() : undefined);
};

export class MachineClassMismatchError extends Error {
  constructor(
    readonly base: string,
    readonly head: string,
  ) {
    super(`machine classes differ (base ${base}, head ${head}): figures from different hardware are never compared`);
    this.name = 'MachineClassMismatchError';
  }
}
