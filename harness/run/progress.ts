// Progress of running phases, as the parent renders it: cli-progress bars on a terminal, plain throttled lines
// otherwise (CI logs). The child sends Progress objects on a side channel (see runner.ts, PROGRESS_MARKER).
//
// Interpretation of Progress (phase-types.ts): `epoch` is the 0-based index of the epoch in progress and `step`
// the number of steps done in it, so the fraction done is (epoch·stepsPerEpoch + step) / (epochs·stepsPerEpoch).
import cliProgress from 'cli-progress';
import * as tf from '@tensorflow/tfjs-core';
import type { PhaseContext, Progress } from './phase-types.js';

export interface ProgressReporter {
  /** A run started (or was found finished: then only log() is called). */
  start(id: string, label: string): void;
  update(id: string, p: Progress): void;
  finish(id: string, status: string, detail?: string): void;
  /** A message that must not tear the bars. */
  log(line: string): void;
  close(): void;
}

export function progressFraction(p: Progress): number {
  const total = p.epochs * p.stepsPerEpoch;
  if (!(total > 0)) return 0;
  const done = p.epoch * p.stepsPerEpoch + p.step;
  return Math.min(1, Math.max(0, done / total));
}

export function formatDuration(seconds: number | undefined): string {
  if (seconds === undefined || !Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  const h = Math.floor(s / 3600);
  if (h < 48) return `${h}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
  return `${Math.floor(h / 24)}d${String(h % 24).padStart(2, '0')}h`;
}

/**
 * ETA from the rate observed since the first progress report of this attempt (a resumed run starts part-way,
 * so the rate must not be computed from zero). The phase's own etaSeconds wins when it gives one.
 */
export class EtaEstimator {
  private first: { t: number; f: number } | undefined;

  constructor(private readonly now: () => number = Date.now) {}

  update(p: Progress): number | undefined {
    if (p.etaSeconds !== undefined && Number.isFinite(p.etaSeconds)) return p.etaSeconds;
    const f = progressFraction(p);
    const t = this.now();
    if (this.first === undefined) {
      this.first = { t, f };
      return undefined;
    }
    const df = f - this.first.f;
    const dt = (t - this.first.t) / 1000;
    if (df <= 0 || dt <= 0) return undefined;
    return ((1 - f) * dt) / df;
  }
}

function formatLoss(loss: number): string {
  return Number.isFinite(loss) ? loss.toFixed(4) : String(loss);
}

export function describeProgress(p: Progress, eta: number | undefined): string {
  return (
    `epoch ${p.epoch + 1}/${p.epochs} step ${p.step}/${p.stepsPerEpoch} loss ${formatLoss(p.loss)} ` +
    `${Math.round(progressFraction(p) * 100)}% ETA ${formatDuration(eta)}`
  );
}

/** Reports nothing (tests, --quiet). */
export function silentReporter(): ProgressReporter {
  return { start() {}, update() {}, finish() {}, log() {}, close() {} };
}

/** Plain lines: start, every new epoch or every `intervalMs` per run, and finish. */
export function lineReporter(write: (line: string) => void, intervalMs = 30_000): ProgressReporter {
  const runs = new Map<string, { label: string; eta: EtaEstimator; lastMs: number; lastEpoch: number }>();
  return {
    start(id, label) {
      runs.set(id, { label, eta: new EtaEstimator(), lastMs: 0, lastEpoch: -1 });
      write(`[${label}] started`);
    },
    update(id, p) {
      const r = runs.get(id);
      if (!r) return;
      const eta = r.eta.update(p);
      const now = Date.now();
      if (p.epoch !== r.lastEpoch || now - r.lastMs >= intervalMs) {
        r.lastEpoch = p.epoch;
        r.lastMs = now;
        write(`[${r.label}] ${describeProgress(p, eta)}`);
      }
    },
    finish(id, status, detail) {
      const r = runs.get(id);
      runs.delete(id);
      write(`[${r?.label ?? id}] ${status}${detail ? `: ${detail}` : ''}`);
    },
    log(line) {
      write(line);
    },
    close() {},
  };
}

/** One bar per running phase (cli-progress MultiBar); finished runs become log lines above the bars. */
export function barReporter(stream: NodeJS.WriteStream): ProgressReporter {
  const multi = new cliProgress.MultiBar(
    {
      stream,
      format: '{label} |{bar}| {percentage}% | {detail}',
      hideCursor: true,
      clearOnComplete: false,
      stopOnComplete: false,
      autopadding: true,
      barsize: 24,
    },
    cliProgress.Presets.shades_classic,
  );
  const bars = new Map<string, { bar: cliProgress.SingleBar; label: string; eta: EtaEstimator }>();
  const TOTAL = 1000;
  // MultiBar.log only shows once bars are rendering; before the first bar, write directly.
  const say = (line: string): void => {
    if (multi.isActive) multi.log(line + '\n');
    else stream.write(line + '\n');
  };
  return {
    start(id, label) {
      const bar = multi.create(TOTAL, 0, { label, detail: 'starting' });
      bars.set(id, { bar, label, eta: new EtaEstimator() });
    },
    update(id, p) {
      const b = bars.get(id);
      if (!b) return;
      const eta = b.eta.update(p);
      b.bar.update(Math.round(progressFraction(p) * TOTAL), { label: b.label, detail: describeProgress(p, eta) });
    },
    finish(id, status, detail) {
      const b = bars.get(id);
      bars.delete(id);
      if (b) multi.remove(b.bar);
      say(`[${b?.label ?? id}] ${status}${detail ? `: ${detail}` : ''}`);
    },
    log(line) {
      say(line);
    },
    close() {
      if (multi.isActive) {
        multi.update(); // flush lines logged since the last render; stop() does not
        multi.stop();
      }
    },
  };
}

/** Bars when `stream` is a terminal, plain lines otherwise (CI). */
export function createReporter(stream: NodeJS.WriteStream = process.stdout): ProgressReporter {
  return stream.isTTY ? barReporter(stream) : lineReporter((line) => stream.write(line + '\n'));
}

/** A PhaseContext for an in-process run (`search`, `eval`) that reports progress on the terminal. */
export function consoleContext(outDir: string, resume: boolean, label: string): PhaseContext & { peakTensorBytes: number; close(): void } {
  const reporter = createReporter(process.stderr);
  reporter.start(label, label);
  const ctx = {
    outDir, resume, peakTensorBytes: 0,
    progress: (p: Parameters<PhaseContext['progress']>[0]) => reporter.update(label, p),
    sampleMemory: () => { ctx.peakTensorBytes = Math.max(ctx.peakTensorBytes, tf.memory().numBytes); },
    notePeakTensorBytes: (b: number) => { ctx.peakTensorBytes = Math.max(ctx.peakTensorBytes, b); },
    close: () => { reporter.finish(label, 'done'); reporter.close(); },
  };
  return ctx;
}
