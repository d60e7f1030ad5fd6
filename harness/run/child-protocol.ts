// What passes between the runner and a child process (`_phase`): the command line the runner starts it with,
// the messages the child prints on stdout, and the record the runner writes in the child's place when the child
// could not write its own.
import path from 'node:path';
import { packageRoot } from '../../nas/util/fs.js';
import { collectEnv } from '../measure/env.js';
import { toMeasures, type MeasureSnapshot } from '../measure/meter.js';
import { makeRecord, type EnvProvenance, type RunRecord, type RunStatus } from '../results/record.js';
import type { RunPaths } from '../results/layout.js';
import type { PhaseSpec, Progress } from './phase-types.js';

/** Set in a child's environment when the runner holds its stdin open: the pipe closing means the runner died. */
export const RUNNER_PIPE_ENV = 'ENTRANNAS_RUNNER_PIPE';

/** Exit code of a child that found its run held by another live process (it wrote nothing). */
export const RUN_BUSY_EXIT = 75;

/** Stdout lines that start with this carry a JSON ChildMessage; every other line is log. */
export const PROGRESS_MARKER = '@@entrannas-bench@@ ';

export type ChildMessage =
  | { type: 'started'; env: EnvProvenance; deviceClass: string }
  | { type: 'progress'; progress: Progress; measures: MeasureSnapshot };

export function encodeChildMessage(m: ChildMessage): string {
  return PROGRESS_MARKER + JSON.stringify(m) + '\n';
}

export function decodeChildMessage(line: string): ChildMessage | undefined {
  if (!line.startsWith(PROGRESS_MARKER)) return undefined;
  try {
    return JSON.parse(line.slice(PROGRESS_MARKER.length)) as ChildMessage;
  } catch {
    return undefined;
  }
}

export function binPath(): string {
  return path.join(packageRoot(), 'bin', 'entrannas-bench.js');
}

/** The child's command line (after node): the hidden `_phase` command of harness/commands/run.ts. */
export function childArgs(paths: RunPaths, resume: boolean | undefined): string[] {
  const args = [binPath(), '_phase', '--spec', paths.spec, '--record', paths.record, '--out-dir', paths.outDir];
  if (resume) args.push('--resume');
  return args;
}

export interface RunnerRecordInput {
  spec: PhaseSpec;
  status: RunStatus;
  error: string;
  startedAt: string;
  finishedAt: string;
  /** The child's environment, when it got as far as reporting it. */
  env?: EnvProvenance;
  /** CUDA_VISIBLE_DEVICES the runner gave the child. */
  gpu?: string;
  deviceClass?: string;
  /** The child's last measurement report. */
  snapshot?: MeasureSnapshot;
  wallSeconds?: number;
}

/** A record for a phase that could not write its own (timeout, killed, crashed, no backend) or never ran. */
export function runnerRecord(r: RunnerRecordInput): RunRecord {
  return makeRecord(r.spec, {
    status: r.status,
    error: r.error,
    startedAt: r.startedAt,
    finishedAt: r.finishedAt,
    env: { ...(r.env ?? collectEnv({ requested: r.spec.backend })), ...(r.gpu !== undefined ? { cudaVisibleDevices: r.gpu } : {}) },
    // CPU, RSS and tensor figures are the child's last report (lower bounds); wall time is the runner's clock.
    measures: r.snapshot && r.deviceClass
      ? toMeasures({ ...r.snapshot, wallSeconds: r.wallSeconds ?? r.snapshot.wallSeconds }, r.deviceClass)
      : undefined,
  });
}
