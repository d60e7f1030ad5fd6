// `suites`: the built-in suites with kind, rows, seeds and estimated cost.
import type { Command } from 'commander';
import { listSuites, type Suite } from '../suites/suite.js';
import { declaredSeeds } from '../results/tables.js';
import { EXIT, act, processIO, subcommand, type CommandIO } from './common.js';

export interface SuiteSummary {
  name: string;
  kind: Suite['kind'];
  description: string;
  file: string;
  /** Rows that run in the suite. */
  methods: Array<{ id: string; method: string; label: string }>;
  /** Rows that carry published figures only. */
  referenceRows: Array<{ id: string; method: string; label: string }>;
  seeds: number[];
  /** Phase runs the suite declares (search, select and eval runs of every row that runs). */
  runs: number;
  timeouts: Suite['timeouts'];
  cost: Suite['cost'];
  deviations: string[];
}

export function summariseSuite(s: Suite): SuiteSummary {
  const row = (m: Suite['methods'][number]) => ({ id: m.id, method: m.method, label: m.label });
  const methods = s.methods.filter((m) => m.run).map(row);
  return {
    name: s.name,
    kind: s.kind,
    description: s.description,
    file: s.file,
    methods,
    referenceRows: s.methods.filter((m) => !m.run).map(row),
    seeds: s.seeds,
    // phase runs: seeds × (search, eval), or k searches + k selects + m evals for a row with a selection protocol
    runs: s.methods.reduce((n, m) => n + Object.values(declaredSeeds(s, m)).reduce((a, seeds) => a + seeds.length, 0), 0),
    timeouts: s.timeouts,
    cost: s.cost,
    deviations: s.deviations.map((d) => d.text),
  };
}

/** "≈ 7 min wall on …" / "≈ 40 GPU-days on …". */
export function costText(c: Suite['cost']): string {
  const parts: string[] = [];
  const w = c.wallSeconds;
  if (w !== undefined) parts.push(w >= 3600 ? `≈ ${(w / 3600).toFixed(1)} h wall` : w >= 120 ? `≈ ${Math.round(w / 60)} min wall` : `≈ ${Math.round(w)} s wall`);
  if (c.gpuDays !== undefined) parts.push(`≈ ${c.gpuDays} GPU-days`);
  return `${parts.join(', ')} on ${c.hardware}`;
}

/** The suite list, as text or JSON. */
export function suitesCommand(opts: { json?: boolean } = {}): string {
  const summaries = listSuites().map(summariseSuite);
  if (opts.json) return `${JSON.stringify(summaries, null, 2)}\n`;
  const lines: string[] = [];
  for (const s of summaries) {
    lines.push(`${s.name} (${s.kind}): ${s.description}`);
    lines.push(`  methods: ${s.methods.map((m) => m.id).join(', ')}${s.referenceRows.length > 0 ? `; reference only: ${s.referenceRows.map((m) => m.id).join(', ')}` : ''}`);
    lines.push(`  seeds: ${s.seeds.join(', ')} (${s.runs} phase runs in all)`);
    lines.push(`  cost: ${costText(s.cost)}; timeouts: search ${s.timeouts.searchSeconds} s, eval ${s.timeouts.evalSeconds} s per phase`);
    if (s.deviations.length > 0) lines.push(`  deviations from the paper protocol: ${s.deviations.length}`);
    lines.push('');
  }
  return lines.join('\n');
}

export function register(program: Command, io: CommandIO = processIO): void {
  subcommand(program, 'suites')
    .description('list the built-in suites with kind, methods, seeds and estimated cost')
    .option('--json', 'print JSON')
    .action(async function (this: Command, opts: { json?: boolean }) {
      await act(this, io, async () => {
        io.out(suitesCommand(opts));
        return { exitCode: EXIT.ok };
      });
    });
}
