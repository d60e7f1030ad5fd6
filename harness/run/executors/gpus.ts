// Which GPU ran what: `run --gpus` gives each child its own CUDA_VISIBLE_DEVICES (runner.ts), the child's record
// keeps it in env.cudaVisibleDevices, and device time is booked per GPU from the records.
import type { RunRecord } from '../../results/record.js';

/** `--gpus 0,1,2,3`: distinct device ids as CUDA_VISIBLE_DEVICES takes them (indices or GPU-/MIG- UUIDs). */
export function parseGpuList(value: string): string[] {
  const ids = value.split(',').map((s) => s.trim());
  if (ids.length === 0 || ids.some((s) => !/^(\d+|(GPU|MIG)-[A-Za-z0-9-]+)$/.test(s))) {
    throw new Error('--gpus takes comma-separated device indices or GPU UUIDs, e.g. 0,1,2,3');
  }
  if (new Set(ids).size !== ids.length) throw new Error('--gpus lists a device twice');
  return ids;
}

export interface GpuBooking {
  gpu: string;
  runs: number;
  deviceSeconds: number;
}

/** Device seconds per CUDA_VISIBLE_DEVICES value, over records that name one, sorted by device id. */
export function bookPerGpu(records: readonly RunRecord[]): GpuBooking[] {
  const by = new Map<string, GpuBooking>();
  for (const r of records) {
    const gpu = r.env?.cudaVisibleDevices;
    if (gpu === undefined) continue;
    const b = by.get(gpu) ?? { gpu, runs: 0, deviceSeconds: 0 };
    b.runs++;
    b.deviceSeconds += r.measures?.deviceSeconds ?? 0;
    by.set(gpu, b);
  }
  return [...by.values()].sort((a, b) => a.gpu.localeCompare(b.gpu, 'en', { numeric: true }));
}

export function formatBooking(b: readonly GpuBooking[]): string[] {
  return b.map((x) => `GPU ${x.gpu}: ${x.runs} run(s), ${x.deviceSeconds.toFixed(1)} device-s (${(x.deviceSeconds / 86400).toFixed(4)} device-days)`);
}
