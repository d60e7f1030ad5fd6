// The grid points of `bench scaling` as child processes: ours = `bench step --json`, PyTorch = torch_supernet.py.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { packageRoot } from '../../nas/util/fs.js';
import type { PointResult, PointRunner, ScalingPoint } from './scaling.js';
import { findTorchPython, torchScript } from './torch.js';

export interface ProcessRunnerOptions {
  imageSize: number;
  steps: number;
  warmup: number;
  threads: number;
  /** PyTorch wanted: a python with torch is looked up once (its absence makes every torch point "not run"). */
  torch: boolean;
  python?: string;
}

function lastJson(stdout: string): Record<string, unknown> | undefined {
  const start = stdout.indexOf('{');
  if (start < 0) return undefined;
  try {
    return JSON.parse(stdout.slice(start)) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

/** Why a point failed, from its stderr: the heap message when the wasm heap ran out, else the last line. */
function failure(status: number | null, stderr: string): string {
  if (/wasm heap exhausted/.test(stderr)) return 'wasm heap exhausted';
  const last = stderr.trim().split('\n').filter(Boolean).pop() ?? '';
  return `exit ${status}${last ? `: ${last.slice(0, 200)}` : ''}`;
}

export function processPointRunner(o: ProcessRunnerOptions): PointRunner {
  const cli = path.join(packageRoot(), 'bin', 'entrannas-bench.js');
  let python: string | undefined;
  let script: string | undefined;
  let torchMissing: string | undefined;
  if (o.torch) {
    try {
      python = findTorchPython(o.python);
      script = torchScript();
    } catch (err) {
      torchMissing = err instanceof Error ? err.message : String(err);
    }
  }
  const common = (p: ScalingPoint) => ['--method', p.method, '--layers', String(p.layers), '--channels', String(p.channels),
    '--batch', String(p.batch), '--image-size', String(o.imageSize), '--steps', String(o.steps), '--warmup', String(o.warmup),
    '--threads', String(o.threads)];
  return (engine, p): PointResult => {
    if (engine === 'torch' && torchMissing) return { error: torchMissing };
    const [cmd, args] = engine === 'ours'
      ? [process.execPath, [cli, 'bench', 'step', '--backend', 'wasm', ...common(p), '--json']]
      : [python!, [script!, ...common(p)]];
    const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 << 20 });
    const j = r.status === 0 ? lastJson(r.stdout) : undefined;
    if (!j || typeof j.msPerStep !== 'number' || typeof j.peakRssMB !== 'number') return { error: failure(r.status, r.stderr ?? '') };
    return { msPerStep: j.msPerStep, peakRssMB: j.peakRssMB };
  };
}
