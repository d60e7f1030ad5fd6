// GPU-days normalisation: how much training work one day on a GPU model does, in days of the reference GPU.
//
// gpuDaysNormalised = gpuDays × factor(model), where factor = throughput(model) / throughput(reference).
// So one day on an A100 (factor 1.4) counts as 1.4 V100-days, and one day on a 1080 Ti as 0.58 V100-days.
//
// The factors are APPROXIMATE (think ±25 %): they are single numbers for FP32 (TF32 on Ampere and later)
// convnet training, while the real ratio depends on the model, batch size, precision, framework and driver.
// They exist so that a search cost measured on one card can be set beside a paper's figure measured on another;
// a table that uses them must say "normalised, approximate". CPU devices get no normalised figure.
//
// Sources (FP32 / TF32 single-GPU convnet training throughput):
//  - 1080Ti: Lambda Labs, "Deep Learning GPU Benchmarks - V100 vs 2080 Ti vs 1080 Ti vs Titan V" (Feb 2019):
//    the RTX 2080 Ti is 1.37× the 1080 Ti and 0.80× the V100 in FP32, so 1080 Ti ≈ 0.80 / 1.37 ≈ 0.58 V100.
//  - V100: the reference (Lambda's V100 runs were on an AWS p3 instance, V100 SXM2 16 GB).
//  - A100: Lambda Labs, "NVIDIA A100 GPU Benchmarks for Deep Learning" (2020): FP32 ≈ 1.2× V100 (matmul)
//    × ≈ 1.16 from TF32 ≈ 1.4× V100. Measured TF32 convnet speedups reported later run up to ≈ 2×; we keep 1.4.
//  - H100: peak FP32 67 TFLOPS (SXM) vs 19.5 for the A100; third-party TF32/FP32 training comparisons put the
//    practical gain at ≈ 1.8–2.2× A100, so ≈ 2 × 1.4 = 2.8 V100. The least certain entry in the table.

export const REFERENCE_GPU = 'V100';

export interface GpuFactor {
  /** Canonical short name used in tables. */
  name: string;
  /** Matches the model string nvidia-smi prints, e.g. "NVIDIA GeForce GTX 1080 Ti", "Tesla V100-SXM2-16GB". */
  pattern: RegExp;
  /** Throughput relative to the reference GPU (V100 = 1). */
  factor: number;
  source: string;
}

export const GPU_FACTORS: readonly GpuFactor[] = [
  { name: '1080Ti', pattern: /1080\s*-?\s*ti\b/i, factor: 0.58, source: 'Lambda Labs 2019 FP32 benchmarks (0.80 / 1.37)' },
  { name: 'V100', pattern: /\bv100\b/i, factor: 1.0, source: 'reference' },
  { name: 'A100', pattern: /\ba100\b/i, factor: 1.4, source: 'Lambda Labs 2020 A100 estimate (1.2 FP32 × 1.16 TF32)' },
  { name: 'H100', pattern: /\bh100\b/i, factor: 2.8, source: '≈ 2× A100 (peak FP32 67 vs 19.5 TFLOPS; third-party training comparisons)' },
];

/** The factor entry for a GPU model string (as nvidia-smi or a device class prints it), or undefined. */
export function lookupGpu(model: string): GpuFactor | undefined {
  return GPU_FACTORS.find((g) => g.pattern.test(model));
}

/**
 * GPU-days on `deviceClass` expressed in reference-GPU days. `deviceClass` is 'gpu:<model>' or 'cpu:…';
 * CPU devices and unknown GPU models give undefined (no figure is better than a made-up one).
 */
export function normaliseGpuDays(gpuDays: number, deviceClass: string): number | undefined {
  if (!deviceClass.startsWith('gpu:')) return undefined;
  const entry = lookupGpu(deviceClass.slice(4));
  return entry === undefined ? undefined : gpuDays * entry.factor;
}

/** Convert GPU-days between two GPU models in the table (e.g. to a paper's 1080 Ti); undefined if either is unknown. */
export function convertGpuDays(gpuDays: number, fromModel: string, toModel: string): number | undefined {
  const from = lookupGpu(fromModel);
  const to = lookupGpu(toModel);
  return from === undefined || to === undefined ? undefined : (gpuDays * from.factor) / to.factor;
}
