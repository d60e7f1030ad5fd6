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
// The entries below are marked `approximate` more strongly: no single published convnet-training comparison with
// the V100 was at hand, so each is derived from NVIDIA datasheet figures (dense TF32 / FP32 peak, memory bandwidth)
// relative to an entry above, as its `source` says. Treat them as ±40 %.

export const REFERENCE_GPU = 'V100';

export interface GpuFactor {
  /** Canonical short name used in tables. */
  name: string;
  /** Matches the model string nvidia-smi prints, e.g. "NVIDIA GeForce GTX 1080 Ti", "Tesla V100-SXM2-16GB". */
  pattern: RegExp;
  /** Throughput relative to the reference GPU (V100 = 1). */
  factor: number;
  source: string;
  /** Derived from datasheet figures rather than a published training comparison (±40 %). */
  approximate?: boolean;
}

export const GPU_FACTORS: readonly GpuFactor[] = [
  { name: '1080Ti', pattern: /1080\s*-?\s*ti\b/i, factor: 0.58, source: 'Lambda Labs 2019 FP32 benchmarks (0.80 / 1.37)' },
  { name: 'V100', pattern: /\bv100\b/i, factor: 1.0, source: 'reference' },
  { name: 'A100 80GB', pattern: /\ba100\b.*\b80\s*gb\b/i, factor: 1.5, approximate: true,
    source: 'A100 40GB × ≈ 1.07: same SMs and clocks, 2.0 vs 1.6 TB/s memory bandwidth (NVIDIA A100 datasheet); approximate' },
  { name: 'A100 40GB', pattern: /\ba100\b/i, factor: 1.4, source: 'Lambda Labs 2020 A100 estimate (1.2 FP32 × 1.16 TF32)' },
  { name: 'H100 PCIe', pattern: /\bh100\b.*\bpcie\b/i, factor: 2.1, approximate: true,
    source: 'H100 SXM × 51 / 67 (datasheet FP32 peak, PCIe vs SXM); approximate' },
  { name: 'H100 SXM', pattern: /\bh100\b/i, factor: 2.8, source: '≈ 2× A100 (peak FP32 67 vs 19.5 TFLOPS; third-party training comparisons)' },
  { name: 'H200', pattern: /\bh200\b/i, factor: 3.0, approximate: true,
    source: 'H100 SXM compute with 4.8 vs 3.35 TB/s memory bandwidth (NVIDIA H200 datasheet): ≈ 1.07 × H100 SXM for convnets; approximate' },
  { name: 'L40S', pattern: /\bl40s\b/i, factor: 0.8, approximate: true,
    source: 'A100 × 0.58: dense TF32 ≈ 91.6 vs 156 TFLOPS (datasheets), memory 0.86 vs 1.6 TB/s; approximate' },
  { name: 'RTX 4090', pattern: /\b4090\b/i, factor: 2.0, approximate: true,
    source: '≈ 1.7 × RTX 3090 (datasheet FP32 82.6 vs 35.6 TFLOPS, dual-issue FP32 counted at half; 1.0 vs 0.94 TB/s); approximate' },
  { name: 'RTX 3090', pattern: /\b3090\b/i, factor: 1.15, approximate: true,
    source: '≈ 1.45 × RTX 2080 Ti (Lambda Labs 2020 RTX 3090 FP32 convnet training), 2080 Ti = 0.80 V100; approximate' },
  { name: 'A10', pattern: /\ba10\b(?!0)/i, factor: 0.8, approximate: true,
    source: 'RTX 3090 × 0.7: same GA102 chip at 150 W, FP32 31.2 vs 35.6 TFLOPS, 0.6 vs 0.94 TB/s (datasheets); approximate' },
  { name: 'T4', pattern: /\bt4\b/i, factor: 0.35, approximate: true,
    source: 'V100 × 0.35: FP32 8.1 vs 15.7 TFLOPS, 0.32 vs 0.9 TB/s at 70 W (datasheets; convnet training is bandwidth-bound); approximate' },
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

/**
 * Our device-days as days of the GPU a paper's figure was measured on (a target's `hardware`, e.g. "GTX 1080Ti",
 * "8x V100": the model is looked up, the count is not used since GPU-days already count devices). Always says
 * what it did: a converted figure with the text "≈ 0.05 1080Ti-days, approximate", or why there is none (a CPU
 * device, a GPU or paper hardware the table does not know).
 */
export function toPaperGpu(gpuDays: number, deviceClass: string, paperHardware: string):
  { value?: number; gpu?: string; text: string } {
  const paper = lookupGpu(paperHardware);
  if (!paper) return { text: `no converted figure: the paper's hardware "${paperHardware}" is not in the GPU factor table` };
  if (!deviceClass.startsWith('gpu:')) return { text: `no converted figure: measured on ${deviceClass}, not a GPU` };
  const ours = lookupGpu(deviceClass.slice(4));
  if (!ours) return { text: `no converted figure: ${deviceClass.slice(4)} is not in the GPU factor table (harness/measure/gpu-factors.ts)` };
  const value = (gpuDays * ours.factor) / paper.factor;
  const approx = ours.approximate || paper.approximate ? 'approximate (datasheet-derived factor)' : 'approximate';
  return { value, gpu: paper.name, text: `≈ ${value.toPrecision(2)} ${paper.name}-days, ${approx}` };
}
