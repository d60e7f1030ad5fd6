// `status --results DIR`: where each run of a results directory stands: its record (ok, failed, …, or none yet)
// and, when the directory was submitted to Slurm and squeue answers, its array task's state. Device time per GPU.
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { planFile, recordFiles, recordPath, runLabel } from '../results/layout.js';
import type { RunKey, RunRecord } from '../results/record.js';
import { readRecord } from '../results/store.js';
import { bookPerGpu, formatBooking } from '../run/executors/gpus.js';
import { queueState, readSubmissions, type QueueEntry } from '../run/executors/slurm.js';
import { readPlan } from '../run/plan-file.js';
import { EXIT, InputError, act, processIO, subcommand, type CommandIO } from './common.js';

export interface RunState {
  index?: number;
  key: RunKey;
  record?: RunRecord;
  /** Slurm state of the array task that runs it in the latest submission (PENDING, RUNNING, …). */
  queue?: string;
}

/** Plan index → Slurm state, from the latest submission's arrays and squeue's answer. */
export function queueByIndex(resultsDir: string, queue: readonly QueueEntry[]): Map<number, string> {
  const out = new Map<number, string>();
  const last = readSubmissions(resultsDir).filter((s) => !s.dryRun).at(-1);
  for (const job of last?.jobs ?? []) {
    for (const q of queue.filter((e) => e.jobId === job.jobId)) {
      if (!job.indices) continue;
      // a pending array shows as one line without a task id: every index of it is pending
      const positions = q.task === undefined ? job.indices.map((_, k) => k) : [q.task];
      for (const k of positions) if (job.indices[k] !== undefined) out.set(job.indices[k], q.state);
    }
  }
  return out;
}

export async function collectStatus(resultsDir: string): Promise<{ runs: RunState[]; slurm: 'none' | 'unavailable' | 'queried' }> {
  const keys: Array<RunKey & { index?: number }> = fs.existsSync(planFile(resultsDir))
    ? readPlan(planFile(resultsDir)).runs
    : recordFiles(resultsDir);
  const runs: RunState[] = keys.map((k) => ({
    ...(k.index !== undefined ? { index: k.index } : {}),
    key: { suite: k.suite, row: k.row, seed: k.seed, phase: k.phase },
    record: readRecord(recordPath(resultsDir, k)),
  }));
  const ids = (readSubmissions(resultsDir).filter((s) => !s.dryRun).at(-1)?.jobs ?? []).flatMap((j) => (j.jobId ? [j.jobId] : []));
  if (ids.length === 0) return { runs, slurm: 'none' };
  const queue = await queueState(ids);
  if (!queue) return { runs, slurm: 'unavailable' };
  const byIndex = queueByIndex(resultsDir, queue);
  for (const r of runs) if (r.index !== undefined && byIndex.has(r.index)) r.queue = byIndex.get(r.index);
  return { runs, slurm: 'queried' };
}

export function formatStatus(resultsDir: string, s: Awaited<ReturnType<typeof collectStatus>>): string {
  const lines: string[] = [];
  const counts = new Map<string, number>();
  for (const r of s.runs) {
    const state = r.record?.status ?? (r.queue ? r.queue.toLowerCase() : 'no record');
    counts.set(state, (counts.get(state) ?? 0) + 1);
    const m = r.record?.measures;
    const gpu = r.record?.env?.cudaVisibleDevices !== undefined ? ` gpu ${r.record.env.cudaVisibleDevices}` : '';
    const queue = r.queue && r.record ? ` (slurm: ${r.queue})` : '';
    lines.push(
      `  ${String(r.index ?? '-').padStart(4)} ${state.padEnd(10)} ${runLabel(r.key).padEnd(44)}${m ? ` ${m.wallSeconds.toFixed(1)} s` : ''}${gpu}${queue}` +
        (r.record?.error ? `  ${r.record.error.slice(0, 160)}` : ''),
    );
  }
  const head = `status ${resultsDir}: ${s.runs.length} run(s): ${[...counts].map(([k, n]) => `${n} ${k}`).join(', ') || 'none'}`;
  const slurm = s.slurm === 'unavailable' ? ' (Slurm jobs submitted, but squeue did not answer: states from the records only)' : '';
  const booking = formatBooking(bookPerGpu(s.runs.flatMap((r) => (r.record ? [r.record] : [])))).map((b) => `  ${b}`);
  return [head + slurm, ...lines, ...booking].join('\n');
}

export function register(program: Command, io: CommandIO = processIO): void {
  subcommand(program, 'status')
    .description('each run of a results directory: its record, or its Slurm state when it has none yet; device time per GPU')
    .option('--results <dir>', 'results directory', 'results')
    .action(async function (this: Command, opts: { results: string }) {
      await act(this, io, async () => {
        const dir = path.resolve(opts.results);
        if (!fs.existsSync(dir)) throw new InputError(`${dir}: no such results directory`);
        io.out(formatStatus(dir, await collectStatus(dir)) + '\n');
        return { exitCode: EXIT.ok };
      });
    });
}
