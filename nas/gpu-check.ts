// Did TensorFlow really run on a GPU? tfjs-node-gpu falls back to the CPU without an error when it cannot load
// the CUDA 11.2 / cuDNN 8.1 libraries its libtensorflow was built against, and a run booked as GPU-days would then
// be CPU time. Two pieces of evidence decide: tfjs-node's own device check (NodeJSKernelBackend.isUsingGpuDevice,
// set by the binding when TensorFlow registered a GPU device) and a timed probe op (a matmul far slower on a CPU).
// The environment is injectable so that a test can simulate a GPU, a fallback, or a registered-but-slow device.
import { execFileSync } from 'node:child_process';
import * as tf from '@tensorflow/tfjs-core';

/** Below this probe throughput a device that claims to be a GPU is treated as the CPU (a T4 reaches several TFLOPS). */
export const MIN_GPU_PROBE_GFLOPS = 200;
const PROBE_N = 1024;
const PROBE_REPEATS = 8;

export const GPU_LIBRARIES_HINT =
  'tfjs-node-gpu 4.22 needs NVIDIA driver ≥ 450 with CUDA 11.2 (libcudart.so.11.0, libcublas.so.11) and cuDNN 8.1 ' +
  '(libcudnn.so.8) on the library path; a CUDA 12 / cuDNN 9 system lacks them';

export interface GpuFacts {
  model?: string;
  driver?: string;
  /** The CUDA version the driver supports (nvidia-smi's header). */
  cudaDriver?: string;
  cudnn?: string;
}

/** What the check reads; nodeGpuEnvironment() is the real one. */
export interface GpuEnvironment {
  /** tfjs-node's device check; undefined when the backend has no such field (not tfjs-node). */
  isUsingGpuDevice(): boolean | undefined;
  /** Milliseconds of the probe (PROBE_REPEATS matmuls of PROBE_N², read back), after a warm-up. */
  probeMs(): Promise<number>;
  facts(): GpuFacts;
}

export interface GpuCheck extends GpuFacts {
  onGpu: boolean;
  deviceCheck: boolean | undefined;
  probeMs: number;
  probeGflops: number;
  /** Why the run counts as CPU time (onGpu false). */
  reason?: string;
}

export class GpuFallbackError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GpuFallbackError';
  }
}

/**
 * Check that work runs on a GPU. On a fallback: throws GpuFallbackError naming the libraries, unless
 * `allowCpuFallback` (then the result says onGpu false and the run books CPU time).
 */
export async function verifyGpu(env: GpuEnvironment, allowCpuFallback: boolean): Promise<GpuCheck> {
  const deviceCheck = env.isUsingGpuDevice();
  const probeMs = await env.probeMs();
  const probeGflops = (2 * PROBE_N ** 3 * PROBE_REPEATS) / (probeMs * 1e6);
  const facts = env.facts();
  let reason: string | undefined;
  if (deviceCheck !== true) {
    reason = deviceCheck === false ? 'TensorFlow registered no GPU device (tfjs-node-gpu fell back to the CPU)'
      : 'the backend cannot say whether it uses a GPU (not tfjs-node-gpu)';
  } else if (!(probeGflops >= MIN_GPU_PROBE_GFLOPS)) {
    reason = `a GPU device is registered but the probe matmul ran at ${probeGflops.toFixed(0)} GFLOPS (< ${MIN_GPU_PROBE_GFLOPS}), as on a CPU`;
  }
  const check: GpuCheck = { ...facts, onGpu: reason === undefined, deviceCheck, probeMs, probeGflops, ...(reason ? { reason } : {}) };
  if (reason && !allowCpuFallback) {
    throw new GpuFallbackError(`backend tensorflow-gpu: ${reason}. ${GPU_LIBRARIES_HINT}. ` +
      'Install those versions, or pass --allow-cpu-fallback to run on the CPU and book CPU time.');
  }
  return check;
}

function run(cmd: string, args: string[]): string | undefined {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', timeout: 10_000, stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    return undefined;
  }
}

/** The real environment: the active tfjs backend, nvidia-smi and the dynamic linker's cache. */
export function nodeGpuEnvironment(): GpuEnvironment {
  return {
    isUsingGpuDevice: () => {
      const v = (tf.backend() as unknown as { isUsingGpuDevice?: unknown }).isUsingGpuDevice;
      return typeof v === 'boolean' ? v : undefined;
    },
    probeMs: async () => {
      const a = tf.randomUniform([PROBE_N, PROBE_N]);
      try {
        tf.tidy(() => tf.matMul(a, a).dataSync()); // warm-up (kernel selection, allocation)
        const t0 = performance.now();
        for (let i = 0; i < PROBE_REPEATS; i++) tf.tidy(() => tf.matMul(a, a).dataSync());
        return performance.now() - t0;
      } finally {
        a.dispose();
      }
    },
    facts: () => {
      const q = run('nvidia-smi', ['--query-gpu=name,driver_version', '--format=csv,noheader'])?.split('\n')[0]?.split(',').map((s) => s.trim());
      const cuda = run('nvidia-smi', [])?.match(/CUDA Version:\s*([\d.]+)/)?.[1];
      const cudnn = run('ldconfig', ['-p'])?.match(/libcudnn\.so\.(\d+(?:\.\d+)*)/)?.[1];
      return { ...(q?.[0] ? { model: q[0] } : {}), ...(q?.[1] ? { driver: q[1] } : {}), ...(cuda ? { cudaDriver: cuda } : {}), ...(cudnn ? { cudnn } : {}) };
    },
  };
}
