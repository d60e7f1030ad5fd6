// Per-run measurement: wall and CPU seconds, peak RSS, peak tensor bytes, GPU memory, and GPU-days on a named
// device class, normalised to the reference GPU where the factor table knows the model (gpu-factors.ts).
//
// A phase runs in its own child process, so process-wide figures (CPU time, max RSS) are the phase's own; the
// child counts wall and CPU time from its own start (module loading and backend start-up are part of the cost).
// GPU memory is best effort: tf.memory() where a backend reports GPU bytes, else nvidia-smi's per-process figure
// (what TensorFlow's allocator reserved, which is usually more than the tensors need).
// GPU-days = device-seconds / 86400, with device-seconds = wall seconds × devices used (one per run here).
// On a CPU backend the same arithmetic gives CPU-device-days on 'cpu:<model> x<threads>', never normalised.
// The device class names the unit of that cost (machine.ts deviceClass).
import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { writeJsonAtomicSync } from '../../nas/util/fs.js';
import { REFERENCE_GPU, normaliseGpuDays } from './gpu-factors.js';
import type { Measures } from '../results/record.js';
import { searchEpochSeconds, type PhaseSeconds } from '../../nas/phase-clock.js';

export const SECONDS_PER_DAY = 86400;

/** Device time and GPU-days for `wallSeconds` on `devices` devices of one device class (machine.ts deviceClass). */
export function deviceCost(
  wallSeconds: number,
  deviceClassName: string,
  devices = 1,
): Pick<Measures, 'deviceSeconds' | 'deviceClass' | 'gpuDays' | 'gpuDaysNormalised' | 'referenceGpu'> {
  const deviceSeconds = wallSeconds * devices;
  const gpuDays = deviceSeconds / SECONDS_PER_DAY;
  const gpuDaysNormalised = normaliseGpuDays(gpuDays, deviceClassName);
  return {
    deviceSeconds,
    deviceClass: deviceClassName,
    gpuDays,
    ...(gpuDaysNormalised !== undefined ? { gpuDaysNormalised, referenceGpu: REFERENCE_GPU } : {}),
  };
}

/**
 * The phase breakdown and, when it has warm-up or search epochs, the search cost as the papers count it: device
 * time of those epochs only (setup, scoring, checkpoints and writing are listed beside it in `phases`).
 */
export function phaseCost(phases: PhaseSeconds, deviceClassName: string): Pick<Measures, 'phases' | 'searchGpuDays' | 'searchGpuDaysNormalised'> {
  const hasSearch = Object.keys(phases).some((k) => k === 'search' || k === 'warmup' || k.startsWith('search.') || k.startsWith('warmup.'));
  if (!hasSearch) return { phases };
  const searchGpuDays = searchEpochSeconds(phases) / SECONDS_PER_DAY;
  const norm = normaliseGpuDays(searchGpuDays, deviceClassName);
  return { phases, searchGpuDays, ...(norm !== undefined ? { searchGpuDaysNormalised: norm } : {}) };
}

/** What a meter knows so far; sent to the runner with progress so a killed run still has figures. */
export interface MeasureSnapshot {
  wallSeconds: number;
  cpuSeconds: number;
  peakRssBytes: number;
  peakTensorBytes: number;
  gpuMemoryBytes?: number;
}

export function toMeasures(s: MeasureSnapshot, deviceClassName: string, extra: { msPerStep?: number; steps?: number; phases?: PhaseSeconds } = {}): Measures {
  return {
    ...(extra.phases ? phaseCost(extra.phases, deviceClassName) : {}),
    wallSeconds: s.wallSeconds,
    cpuSeconds: s.cpuSeconds,
    peakRssBytes: s.peakRssBytes,
    peakTensorBytes: s.peakTensorBytes,
    ...(s.gpuMemoryBytes !== undefined ? { gpuMemoryBytes: s.gpuMemoryBytes } : {}),
    ...deviceCost(s.wallSeconds, deviceClassName),
    ...(extra.msPerStep !== undefined ? { msPerStep: extra.msPerStep } : {}),
    ...(extra.steps !== undefined ? { steps: extra.steps } : {}),
  };
}

/**
 * Several attempts at one run (killed, then resumed from a checkpoint) as one cost: times and GPU-days add,
 * peaks take the maximum, msPerStep and steps come from the last attempt. The normalised figure is the sum of
 * each attempt's own normalised figure (attempts may have run on different GPUs), absent if any lacks one.
 */
export function combineAttempts(attempts: Measures[]): Measures {
  if (attempts.length === 0) throw new Error('combineAttempts: no attempts');
  const last = attempts[attempts.length - 1];
  if (attempts.length === 1) return last;
  const sum = (f: (m: Measures) => number): number => attempts.reduce((a, m) => a + f(m), 0);
  const max = (f: (m: Measures) => number | undefined): number | undefined => {
    const xs = attempts.map(f).filter((x): x is number => x !== undefined);
    return xs.length ? Math.max(...xs) : undefined;
  };
  const classes = [...new Set(attempts.map((m) => m.deviceClass))];
  const allNormalised = attempts.every((m) => m.gpuDaysNormalised !== undefined);
  const gpuMemoryBytes = max((m) => m.gpuMemoryBytes);
  const out: Measures = {
    wallSeconds: sum((m) => m.wallSeconds),
    cpuSeconds: sum((m) => m.cpuSeconds),
    peakRssBytes: max((m) => m.peakRssBytes) ?? 0,
    peakTensorBytes: max((m) => m.peakTensorBytes) ?? 0,
    deviceSeconds: sum((m) => m.deviceSeconds),
    deviceClass: classes.length === 1 ? classes[0] : `mixed(${classes.join(' + ')})`,
    gpuDays: sum((m) => m.gpuDays),
  };
  if (gpuMemoryBytes !== undefined) out.gpuMemoryBytes = gpuMemoryBytes;
  if (allNormalised) {
    out.gpuDaysNormalised = sum((m) => m.gpuDaysNormalised ?? 0);
    out.referenceGpu = REFERENCE_GPU;
  }
  if (last.msPerStep !== undefined) out.msPerStep = last.msPerStep;
  if (last.steps !== undefined) out.steps = last.steps;
  // Phases add per name; a resumed search's cost is every attempt's epochs.
  if (attempts.some((m) => m.phases)) {
    const phases: Record<string, number> = {};
    for (const m of attempts) for (const [k, v] of Object.entries(m.phases ?? {})) phases[k] = (phases[k] ?? 0) + v;
    out.phases = phases;
  }
  if (attempts.some((m) => m.searchGpuDays !== undefined)) out.searchGpuDays = sum((m) => m.searchGpuDays ?? 0);
  if (attempts.every((m) => m.searchGpuDaysNormalised !== undefined)) out.searchGpuDaysNormalised = sum((m) => m.searchGpuDaysNormalised ?? 0);
  return out;
}

/** Parse `nvidia-smi --query-compute-apps=pid,used_memory --format=csv,noheader,nounits` for one pid (MiB → bytes). */
export function parseNvidiaSmiApps(text: string, pid: number): number | undefined {
  let total: number | undefined;
  for (const line of text.split('\n')) {
    const [p, mib] = line.split(',').map((s) => s.trim());
    if (Number(p) === pid && Number.isFinite(Number(mib))) total = (total ?? 0) + Number(mib) * 1024 * 1024;
  }
  return total;
}

const NVIDIA_SMI_ARGS = ['--query-compute-apps=pid,used_memory', '--format=csv,noheader,nounits'];

export interface MeterOptions {
  /** Count wall and CPU time from process start (the child's whole life is the run's cost). Default: from now. */
  sinceProcessStart?: boolean;
  /** Poll GPU memory (tf.memory() where it reports GPU bytes, else nvidia-smi for this pid). */
  gpu?: boolean;
  /** nvidia-smi poll interval; the tensorflow GPU allocator only grows, so a coarse poll sees the peak. */
  gpuPollMs?: number;
  /** Override the tensor-bytes source (tests). Default tf.memory().numBytes. */
  tensorBytes?: () => number;
}

/** Samples the current process. Call sample() often (it is cheap); snapshot() at any time; stop() at the end. */
export class Meter {
  private readonly wallStartMs: number;
  private readonly cpuStart: NodeJS.CpuUsage | undefined;
  private peakTensorBytes = 0;
  private gpuMemoryBytes: number | undefined;
  private readonly timer: NodeJS.Timeout | undefined;
  private readonly tensorBytes: () => number;
  private readonly gpu: boolean;
  private nvidiaSmiMissing = false;

  constructor(opts: MeterOptions = {}) {
    this.wallStartMs = opts.sinceProcessStart ? performance.timeOrigin : Date.now();
    this.cpuStart = opts.sinceProcessStart ? undefined : process.cpuUsage();
    this.tensorBytes = opts.tensorBytes ?? (() => tf.memory().numBytes);
    this.gpu = opts.gpu ?? false;
    if (this.gpu) {
      this.timer = setInterval(() => this.pollNvidiaSmi(), opts.gpuPollMs ?? 10_000);
      this.timer.unref();
    }
    this.sample();
  }

  /** Record the current tensor bytes (and GPU bytes where tf.memory() reports them) into the high-water marks. */
  sample(): void {
    let bytes = 0;
    try {
      bytes = this.tensorBytes();
    } catch {
      /* no backend yet */
    }
    if (bytes > this.peakTensorBytes) this.peakTensorBytes = bytes;
    if (this.gpu) {
      try {
        const m = tf.memory() as { numBytesInGPU?: number; numBytesInGPUAllocated?: number };
        const g = m.numBytesInGPUAllocated ?? m.numBytesInGPU;
        if (typeof g === 'number') this.noteGpuBytes(g);
      } catch {
        /* best effort */
      }
    }
  }

  /** A tensor-bytes peak measured elsewhere (every allocation of a whole step, nas/tensor-peak.ts). */
  notePeakTensorBytes(bytes: number): void {
    if (bytes > this.peakTensorBytes) this.peakTensorBytes = bytes;
  }

  private noteGpuBytes(bytes: number): void {
    if (this.gpuMemoryBytes === undefined || bytes > this.gpuMemoryBytes) this.gpuMemoryBytes = bytes;
  }

  private pollNvidiaSmi(): void {
    if (this.nvidiaSmiMissing) return;
    execFile('nvidia-smi', NVIDIA_SMI_ARGS, { timeout: 5000 }, (err, stdout) => {
      if (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') this.nvidiaSmiMissing = true;
        return;
      }
      const b = parseNvidiaSmiApps(stdout, process.pid);
      if (b !== undefined) this.noteGpuBytes(b);
    });
  }

  snapshot(): MeasureSnapshot {
    this.sample();
    const cpu = process.cpuUsage(this.cpuStart);
    return {
      wallSeconds: (Date.now() - this.wallStartMs) / 1000,
      cpuSeconds: (cpu.user + cpu.system) / 1e6,
      // maxRSS is in kilobytes (libuv's ru_maxrss); it is the process lifetime peak.
      peakRssBytes: process.resourceUsage().maxRSS * 1024,
      peakTensorBytes: this.peakTensorBytes,
      ...(this.gpuMemoryBytes !== undefined ? { gpuMemoryBytes: this.gpuMemoryBytes } : {}),
    };
  }

  /** Final snapshot: one last synchronous nvidia-smi read on GPU, then stop polling. */
  finish(): MeasureSnapshot {
    if (this.gpu && !this.nvidiaSmiMissing) {
      try {
        const out = execFileSync('nvidia-smi', NVIDIA_SMI_ARGS, { encoding: 'utf8', timeout: 5000, stdio: ['ignore', 'pipe', 'ignore'] });
        const b = parseNvidiaSmiApps(out, process.pid);
        if (b !== undefined) this.noteGpuBytes(b);
      } catch {
        /* best effort */
      }
    }
    this.stop();
    return this.snapshot();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }
}

interface AttemptFile {
  startedAt: string;
  pid: number;
  deviceClass: string;
  snapshot: MeasureSnapshot;
}

/**
 * The cost of every attempt at one run, kept in <outDir>/attempts/ as atomic snapshots, so that a run killed
 * and resumed from its checkpoint reports the GPU-days of all the work that produced it, not just of the last
 * attempt. A run started without resume begins a new account (old attempt files are removed).
 */
export class AttemptLog {
  private readonly file: string;
  private readonly minIntervalMs: number;
  private lastWriteMs = 0;

  constructor(
    private readonly dir: string,
    private readonly startedAt: string,
    private readonly deviceClassName: string,
    opts: { resume: boolean; minIntervalMs?: number },
  ) {
    this.minIntervalMs = opts.minIntervalMs ?? 10_000;
    if (!opts.resume) fs.rmSync(dir, { recursive: true, force: true });
    this.file = path.join(dir, `${startedAt.replace(/[:.]/g, '-')}-${process.pid}.json`);
  }

  /** Persist a snapshot (at most every minIntervalMs unless forced). */
  record(snapshot: MeasureSnapshot, force = false): void {
    const now = Date.now();
    if (!force && now - this.lastWriteMs < this.minIntervalMs) return;
    this.lastWriteMs = now;
    const body: AttemptFile = { startedAt: this.startedAt, pid: process.pid, deviceClass: this.deviceClassName, snapshot };
    try {
      writeJsonAtomicSync(this.file, body);
    } catch {
      /* accounting is best effort; never fail a phase over it */
    }
  }

  /** Measures of earlier attempts (oldest first), excluding this one. */
  previous(): Measures[] {
    let names: string[];
    try {
      names = fs.readdirSync(this.dir).filter((n) => n.endsWith('.json'));
    } catch {
      return [];
    }
    const out: Array<[string, Measures]> = [];
    for (const n of names) {
      const full = path.join(this.dir, n);
      if (full === this.file) continue;
      try {
        const a = JSON.parse(fs.readFileSync(full, 'utf8')) as AttemptFile;
        out.push([a.startedAt, toMeasures(a.snapshot, a.deviceClass)]);
      } catch {
        /* skip unreadable */
      }
    }
    return out.sort((x, y) => x[0].localeCompare(y[0])).map(([, m]) => m);
  }
}
